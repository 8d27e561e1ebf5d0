"""Which reader or writer handles a file: by ``--from``/``--to`` name, extension or content.

============  =========================================  ======  ======
name          what                                       read    write
============  =========================================  ======  ======
``native``    Skillgauge JSON/YAML (``.json .yaml``)     yes     yes
``qti``       QTI 3.0 / 2.x content package (``.zip``)    yes     yes (3.0)
``qti3``      one QTI 3.0 item (``.xml``)                yes
``qti2``      one QTI 2.1/2.2 item (``.xml``)            yes
``moodle``    Moodle XML quiz (``.xml``)                 yes
``gift``      GIFT (``.gift .txt``)                      yes
``csv``       one row per multiple-choice item           yes
============  =========================================  ======  ======

An ``.xml`` file is told apart by its root element and namespace (parsed safely).
CSV item parameters are not a bank: they are merged into one with
:func:`item_banks.formats.csv_params.merge_parameters`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec

from item_banks.errors import BankValidationError, Problem
from item_banks.formats import gift, moodle, qti2_import, qti3_export, qti3_import
from item_banks.formats.common import ImportResult
from item_banks.formats.csv_items import read_csv_items
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.safe_xml import local, namespace, parse_xml
from item_banks.model import Bank
from item_banks.native import DEFAULT_LIMITS, Format, Limits, decode_bank, encode_bank
from item_banks.validation import bank_warnings

Reader = Callable[..., ImportResult]
READ_FORMATS = ("native", "qti", "qti3", "qti2", "moodle", "gift", "csv")
WRITE_FORMATS = ("native", "qti")


def _native(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    is_json = source.lower().endswith(".json") or data.lstrip()[:1] in (b"{", b"[")
    fmt: Format = "json" if is_json else "yaml"
    bank = decode_bank(data, source=source, fmt=fmt, limits=limits)
    return ImportResult(bank=bank, warnings=tuple(bank_warnings(bank, source)))


READERS: dict[str, Reader] = {
    "native": _native,
    "qti": read_qti_package,
    "qti3": qti3_import.read_item_file,
    "qti2": qti2_import.read_item_file,
    "moodle": moodle.read_moodle,
    "gift": gift.read_gift,
    "csv": read_csv_items,
}


def _unknown(source: str, what: str) -> BankValidationError:
    return BankValidationError([Problem(source=source, message=what)])


def detect(path: str | Path, data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """Name the format of ``data`` read from ``path``."""
    source = str(path)
    suffix = Path(path).suffix.lower()
    if suffix in (".json", ".yaml", ".yml"):
        return "native"
    if suffix == ".zip":
        return "qti"
    if suffix in (".gift", ".txt"):
        return "gift"
    if suffix == ".csv":
        return "csv"
    if suffix == ".xml":
        root = parse_xml(data, source, limits=limits)
        if local(root) == "quiz":
            return "moodle"
        if namespace(root) == qti3_import.NS:
            return "qti3"
        if qti2_import.is_qti2(root):
            return "qti2"
        raise _unknown(source, f"an XML file with root <{local(root)}> is not a bank format")
    raise _unknown(
        source, f"unknown bank format {suffix!r}; use --from ({', '.join(READ_FORMATS)})"
    )


def read_any(
    path: str | Path, *, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> ImportResult:
    """Read a bank file of any supported format (``fmt`` overrides detection)."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > max(
            limits.max_bytes,
            limits.max_package_bytes if fmt == "qti" or source.endswith(".zip") else 0,
        ):
            raise BankValidationError(
                [
                    Problem(
                        source=source,
                        message=f"file is {size:,} bytes; the limit is {limits.max_bytes:,}",
                    )
                ]
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _unknown(source, f"cannot read the file: {exc.strerror}") from None
    return read_bytes(data, source, fmt=fmt, limits=limits)


def read_bytes(
    data: bytes, source: str, *, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> ImportResult:
    """Read a bank of any supported format from memory (an upload); ``source`` names it."""
    name = fmt or detect(source, data, limits=limits)
    if name not in READERS:
        raise _unknown(source, f"cannot read {name!r}; formats: {', '.join(READ_FORMATS)}")
    return READERS[name](data, source, limits=limits)


class Exported(msgspec.Struct, frozen=True, kw_only=True):
    """A bank written in one format: the bytes, what it could not carry, how to serve it."""

    data: bytes
    notes: list[Problem]
    media_type: str
    suffix: str


#: The formats a bank can be exported to, by name: (media type, file suffix).
EXPORTS: dict[str, tuple[str, str]] = {
    "qti": ("application/zip", ".zip"),
    "json": ("application/json", ".json"),
    "yaml": ("application/yaml", ".yaml"),
}


def export_bank(
    bank: Bank, fmt: str, *, source: str = "bank", media: Mapping[str, bytes] | None = None
) -> Exported:
    """Write ``bank`` as ``fmt`` (``qti``, ``json`` or ``yaml``) in memory.

    ``media`` (the bytes of ``bank.media`` by SHA-256) goes into a QTI package; a native
    file holds only the media list, so that is noted as not carried.
    """
    if fmt not in EXPORTS:
        raise _unknown(source, f"cannot write {fmt!r}; formats: {', '.join(EXPORTS)}")
    media_type, suffix = EXPORTS[fmt]
    notes: list[Problem] = []
    if fmt == "qti":
        data, notes = qti3_export.export_bank(bank, source, media)
    else:
        data = encode_bank(bank, "json" if fmt == "json" else "yaml")
        if bank.media:
            notes.append(
                Problem(
                    source=source,
                    field="media",
                    message=f"not carried: the bytes of {len(bank.media)} media files (a native "
                    "file lists them only; write a QTI package to keep them)",
                )
            )
    return Exported(data=data, notes=notes, media_type=media_type, suffix=suffix)


def write_any(
    bank: Bank,
    path: str | Path,
    *,
    fmt: str | None = None,
    media: Mapping[str, bytes] | None = None,
) -> list[Problem]:
    """Write ``bank`` to ``path``; return what the format could not carry.

    ``media`` (the bytes of ``bank.media`` by SHA-256, as read) goes into a QTI package; a
    native file holds only the media list, so that is noted as not carried.

    The file is written whole or not at all (a temporary file renamed over ``path``), so a
    failed write never leaves half a bank where a bank was.
    """
    source = str(path)
    suffix = Path(path).suffix.lower()
    name = fmt or ("qti" if suffix == ".zip" else "native")
    if name not in WRITE_FORMATS:
        raise _unknown(source, f"cannot write {name!r}; formats: {', '.join(WRITE_FORMATS)}")
    if name == "native":
        name = "json" if suffix == ".json" else "yaml"
    exported = export_bank(bank, name, source=source, media=media)
    data, notes = exported.data, exported.notes
    target = Path(path)
    temporary: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(data)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise _unknown(source, f"cannot write the file: {exc.strerror or exc}") from None
    return notes
