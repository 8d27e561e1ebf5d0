"""Turn msgspec's validation errors into located, plain messages.

msgspec reports the first problem of a value as ``"<what> - at `$.path`"``. Authors should read
``irt.a: must be > 0, got -0.4`` instead, so this module rewrites the text and looks up the
offending value in the raw (decoded but unvalidated) data.
"""

from __future__ import annotations

import re
from typing import Any

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")

_TAG_CHOICES = {
    "model": "1pl, 2pl, 3pl, 4pl, grm, gpcm",
    "type": "single_choice, multiple_response, numeric, short_text, order, match, extended_text",
}
_TYPE_WORDS = {
    "float": "a number",
    "int": "an integer",
    "str": "text",
    "bool": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}


def split_path(path: str) -> list[str | int]:
    """Split a msgspec path such as ``.items[3].irt.a`` into ``["items", 3, "irt", "a"]``."""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        parts.append(int(index) if index else name)
    return parts


def join_path(parts: list[str | int]) -> str:
    """Join path parts back into dotted form: ``["options", 2, "id"]`` -> ``options[2].id``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def lookup(raw: Any, parts: list[str | int]) -> tuple[bool, Any]:
    """Return ``(found, value)`` for ``parts`` inside the raw decoded data."""
    value = raw
    for part in parts:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return False, None
            value = value[part]
        else:
            if not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
    return True, value


def show(value: Any) -> str:
    """Render an offending value briefly for a message."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _rewrite(what: str, got: Any, found: bool) -> str:
    got_text = f", got {show(got)}" if found else ""
    m = re.match(r"Expected `(\w+)` (>=|>|<=|<) (\S+)$", what)
    if m:
        return f"must be {m.group(2)} {_number(m.group(3))}{got_text}"
    m = re.match(r"Expected `(\w+)`, got `(\w+)`$", what)
    if m:
        return f"must be {_TYPE_WORDS.get(m.group(1), m.group(1))}{got_text}"
    m = re.match(r"Expected `(?:str|array|object)` of length (>=|<=) (\d+)$", what)
    if m:
        if m.group(1) == ">=" and m.group(2) == "1":
            return "must not be empty"
        limit = "at least" if m.group(1) == ">=" else "at most"
        unit = "characters" if isinstance(got, str) else "entries"
        return f"must have {limit} {m.group(2)} {unit}{got_text}"
    m = re.match(r"Expected `str` matching regex '.*'$", what)
    if m:
        return (
            "must be an identifier (letters, digits, _ . : -, starting with a letter, digit or _"
            f"){got_text}"
        )
    m = re.match(r"Object missing required field `(\w+)`$", what)
    if m:
        return "is required"
    m = re.match(r"Object contains unknown field `(\w+)`$", what)
    if m:
        return "is not a known field (check the spelling)"
    m = re.match(r"Invalid value (.*)$", what)
    if m:
        return f"must be one of the listed values, got {m.group(1)}"
    m = re.match(r"Invalid enum value (.*)$", what)
    if m:
        return f"must be one of the listed values, got {m.group(1)}"
    return what[:1].lower() + what[1:]


_BOUND = re.compile(r"Expected `\w+` (>=|>|<=|<) (\S+)$")
_WRONG_TYPE = re.compile(r"Expected `\w+`, got `(\w+)`$")
_MSGSPEC_TYPES = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    dict: "object",
    list: "array",
}


def _fails(what: str, value: Any) -> bool:
    """Whether ``value`` is one that the msgspec error ``what`` describes."""
    bound = _BOUND.match(what)
    if bound:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        limit = float(bound.group(2))
        ok = {
            ">=": value >= limit,
            ">": value > limit,
            "<=": value <= limit,
            "<": value < limit,
        }[bound.group(1)]
        return not ok
    wrong = _WRONG_TYPE.match(what)
    if wrong:
        got = "null" if value is None else _MSGSPEC_TYPES.get(type(value), "")
        return got == wrong.group(1)
    return False


def _mapping_key(path: str, what: str, raw: Any) -> str:
    """Resolve msgspec's ``[...]`` (a mapping's value, key not named) to the offending key.

    The first key whose value the error describes replaces it; unresolved, it is dropped
    (the error is then located at the mapping).
    """
    head, _, tail = path.partition("[...]")
    found, mapping = lookup(raw, split_path(head))
    if found and isinstance(mapping, dict):
        for key, value in mapping.items():
            if isinstance(key, str) and _PATH_PART.fullmatch(f".{key}"):
                inner_found, inner = lookup(value, split_path(tail))
                if inner_found and _fails(what, inner):
                    return f"{head}.{key}{tail}"
    return head + tail


def explain(error_text: str, raw: Any) -> tuple[list[str | int], str]:
    """Explain one msgspec validation error.

    Parameters
    ----------
    error_text
        ``str(msgspec.ValidationError)``.
    raw
        The raw data that was being converted (to quote the offending value).

    Returns
    -------
    tuple
        The path parts of the offending field and a plain message.
    """
    m = _AT.match(error_text)
    what = m.group("what") if m else error_text
    path = (m.group("path") or "") if m else ""
    while "[...]" in path:
        path = _mapping_key(path, what, raw)
    parts = split_path(path)
    missing = re.match(r"Object (?:missing required|contains unknown) field `(\w+)`$", what)
    if missing:
        parts = [*parts, missing.group(1)]
    found, value = lookup(raw, parts)
    message = _rewrite(what, value, found and not missing)
    if parts and parts[-1] in _TAG_CHOICES and what.startswith("Invalid value"):
        message = f"must be one of {_TAG_CHOICES[str(parts[-1])]}, got {show(value)}"
    if what.startswith("Object missing required field `") and parts and parts[-1] in _TAG_CHOICES:
        message = f"is required (one of {_TAG_CHOICES[str(parts[-1])]})"
    return parts, message
