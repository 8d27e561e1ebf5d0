"""The native bank format: JSON or YAML with one schema (:mod:`item_banks.model`).

Reading never stops at the first problem: the bank's header and every item are checked on
their own, then the cross-field checks run, and all problems are raised together in one
:class:`~item_banks.errors.BankValidationError`, each located by file, item and field.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from item_banks.errors import BankValidationError, Problem
from item_banks.messages import explain, join_path
from item_banks.model import Bank, Item
from item_banks.validation import check_bank

Format = Literal["json", "yaml"]


class Limits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Size limits applied before a bank is parsed (uploads come from the network).

    ``max_bytes`` bounds every single file (a bank file, or one member of a package);
    the ``package`` limits bound zip packages (QTI content packages) as a whole. A package
    may hold at most ``2 * max_items + 10`` files (the one file-count limit, checked before
    any member is read), so that any bank within ``max_items`` exported as QTI (a file per
    item) can be read back.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_items: int = 5_000
    max_package_bytes: int = 100 * 1024 * 1024
    max_compression_ratio: float = 100.0


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- YAML dialect


class _StrictYamlLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML with YAML 1.2 booleans, no implicit dates, and duplicate keys refused.

    YAML 1.1 reads ``no``/``yes``/``on``/``off`` as booleans and ``2026-01-01`` as a date,
    which silently turns option ids and version labels into the wrong type.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice (first on line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_StrictYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictYamlLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _BlockDumper(yaml.SafeDumper):
    """YAML output that keeps Markdown readable: multi-line strings in ``|`` block style."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _represent_str)


# --------------------------------------------------------------------------- reading


def format_for(path: str | Path) -> Format:
    """Return the native format of a file from its extension (``.json``, ``.yaml``, ``.yml``)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise BankValidationError(
        [Problem(source=str(path), message=f"unknown bank format {suffix!r}; use .json or .yaml")]
    )


def _too_deep(source: str) -> Problem:
    return Problem(
        source=source,
        message="nested too deeply to be a bank (lists or mappings inside one another "
        "thousands of levels down)",
    )


def _parse(data: bytes, source: str, fmt: Format) -> Any:
    if fmt == "json":
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise BankValidationError(
                [Problem(source=source, message=f"not valid JSON: {exc}")]
            ) from None
        except RecursionError:
            raise BankValidationError([_too_deep(source)]) from None
    try:
        return yaml.load(data, Loader=_StrictYamlLoader)
    except RecursionError:
        raise BankValidationError([_too_deep(source)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        text = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise BankValidationError(
            [Problem(source=source, field=where, message=f"not valid YAML: {text}")]
        ) from None
    except yaml.YAMLError as exc:
        raise BankValidationError(
            [Problem(source=source, message=f"not valid YAML: {exc}")]
        ) from None


def _collection_field(raw: dict[str, Any], parts: list[str | int]) -> str:
    """Name a field of the bank header, using ids for entries of its lists."""
    if len(parts) >= 2 and isinstance(parts[0], str) and isinstance(parts[1], int):
        entries = raw.get(parts[0])
        if isinstance(entries, list) and parts[1] < len(entries):
            entry = entries[parts[1]]
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                rest = join_path(parts[2:])
                head = f'{parts[0]}["{entry["id"]}"]'
                return f"{head}.{rest}" if rest else head
    return join_path(parts)


def decode_bank(data: bytes, *, source: str, fmt: Format, limits: Limits = DEFAULT_LIMITS) -> Bank:
    """Decode and validate a native bank.

    Parameters
    ----------
    data
        The file's bytes.
    source
        The name used in error locations (usually the file name).
    fmt
        ``"json"`` or ``"yaml"``.
    limits
        Size limits checked before parsing.

    Raises
    ------
    BankValidationError
        With every problem found, each located.
    """
    if len(data) > limits.max_bytes:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    message=f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,}",
                )
            ]
        )
    raw = _parse(data, source, fmt)
    if not isinstance(raw, dict):
        raise BankValidationError(
            [Problem(source=source, message="a bank must be a mapping with id, title, items...")]
        )

    problems: list[Problem] = []
    raw_items = raw.get("items", [])
    if not isinstance(raw_items, list):
        problems.append(Problem(source=source, field="items", message="must be a list"))
        raw_items = []
    if len(raw_items) > limits.max_items:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    field="items",
                    message=f"{len(raw_items):,} items; the limit is {limits.max_items:,}",
                )
            ]
        )

    header: Bank | None = None
    try:
        header = msgspec.convert({**raw, "items": []}, Bank)
    except msgspec.ValidationError as exc:
        parts, message = explain(str(exc), raw)
        problems.append(
            Problem(source=source, field=_collection_field(raw, parts) or None, message=message)
        )

    items: list[Item] = []
    for index, raw_item in enumerate(raw_items):
        item_id = raw_item.get("id") if isinstance(raw_item, dict) else None
        label = item_id if isinstance(item_id, str) and item_id else f"#{index + 1}"
        try:
            items.append(msgspec.convert(raw_item, Item))
        except msgspec.ValidationError as exc:
            parts, message = explain(str(exc), raw_item)
            problems.append(
                Problem(source=source, item=label, field=join_path(parts) or None, message=message)
            )

    if header is None:
        raise BankValidationError(problems)
    bank = msgspec.structs.replace(header, items=tuple(items))
    # Cross-field checks run on what did decode, so one pass reports as much as possible;
    # coverage checks wait until every item decoded.
    problems.extend(check_bank(bank, source, complete=len(items) == len(raw_items)))
    if problems:
        raise BankValidationError(_in_file_order(problems, raw_items))
    return bank


def _in_file_order(problems: list[Problem], raw_items: list[Any]) -> list[Problem]:
    """Sort problems: bank-level first, then by the item's position in the file."""
    position: dict[str, int] = {}
    for index, raw_item in enumerate(raw_items):
        item_id = raw_item.get("id") if isinstance(raw_item, dict) else None
        position.setdefault(item_id if isinstance(item_id, str) else f"#{index + 1}", index)
    return sorted(problems, key=lambda p: -1 if p.item is None else position.get(p.item, -1))


def read_bank(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> Bank:
    """Read and validate a native bank file (format from its extension)."""
    path = Path(path)
    fmt = format_for(path)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise BankValidationError(
                [
                    Problem(
                        source=str(path),
                        message=f"file is {size:,} bytes; the limit is {limits.max_bytes:,}",
                    )
                ]
            )
        data = path.read_bytes()
    except OSError as exc:
        raise BankValidationError(
            [Problem(source=str(path), message=f"cannot read the file: {exc.strerror}")]
        ) from None
    return decode_bank(data, source=str(path), fmt=fmt, limits=limits)


# --------------------------------------------------------------------------- writing


def encode_bank(bank: Bank, fmt: Format) -> bytes:
    """Encode a bank in the native format; defaults are omitted for readability."""
    builtins = msgspec.to_builtins(bank)
    if fmt == "json":
        return msgspec.json.format(msgspec.json.encode(builtins), indent=2) + b"\n"
    text = yaml.dump(builtins, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    return text.encode("utf-8")


def write_bank(bank: Bank, path: str | Path) -> None:
    """Write ``bank`` to ``path`` in the format its extension names."""
    path = Path(path)
    path.write_bytes(encode_bank(bank, format_for(path)))


def _canonical(value: Any) -> Any:
    """Builtins of ``value`` with every Struct field that differs from its default.

    A field at its default value is left out whether or not the file wrote it (msgspec's
    ``omit_defaults`` drops a field only when it *is* the default object, so a
    ``tolerance: 0`` written in a file would otherwise encode differently from an omitted
    one), and a field added to the model later with a default leaves every earlier bank's
    identity unchanged. Tagged unions keep their tag.
    """
    if isinstance(value, msgspec.Struct):
        config = value.__struct_config__
        out: dict[str, Any] = {}
        if config.tag is not None:
            out[str(config.tag_field)] = config.tag
        for info in msgspec.structs.fields(value):
            field_value = getattr(value, info.name)
            if info.default is not msgspec.NODEFAULT:
                default = info.default
            elif info.default_factory is not msgspec.NODEFAULT:
                default = info.default_factory()
            else:
                out[info.name] = _canonical(field_value)
                continue
            if not _same(field_value, default):
                out[info.name] = _canonical(field_value)
        return out
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _same(value: Any, default: Any) -> bool:
    """Whether a field holds its default (``0`` and ``0.0`` alike, ``True`` is not ``1``)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # numpy-like values compare element-wise
        return False


def content_hash(bank: Bank) -> str:
    """Return the bank version's identity: SHA-256 of its canonical JSON encoding.

    Fields at their default value are left out (written in the file or not), the rest
    encoded with sorted keys, so two files that say the same thing (JSON or YAML, defaults
    written or not) have the same hash, and adding a field with a default to the model
    changes no existing bank's hash.
    """
    canonical = msgspec.json.encode(_canonical(bank), order="deterministic")
    return hashlib.sha256(canonical).hexdigest()
