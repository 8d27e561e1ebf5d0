"""What every importer shares: the result type, drafts of items, and bank assembly.

An importer turns each source item into a :class:`Draft` (the item as raw fields, the way a
native file would hold it) or a *skip* (a located problem naming the feature Skillgauge
lacks). :func:`assemble` then builds the bank: it converts every draft with msgspec (so a
malformed item is reported exactly like a malformed native item), derives the bank id,
creates competencies from skill tags or from the file, fills in provisional IRT parameters
where the source has none (with a warning), and runs the bank's cross-field checks. Any
problem refuses the whole import: nothing partial is returned.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import msgspec

from item_banks.errors import BankValidationError, Problem
from item_banks.messages import explain, join_path
from item_banks.model import Bank, Competency, ContentArea, Item, MediaFile
from item_banks.native import DEFAULT_LIMITS, Limits
from item_banks.validation import bank_warnings, check_bank

#: IRT parameters given to items whose source carries none: a provisional 2PL with
#: average discrimination and difficulty. Calibration replaces them; the import warns.
PROVISIONAL_IRT: dict[str, Any] = {"model": "2pl", "a": 1.0, "b": 0.0}


class ImportResult(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A bank read from a foreign format.

    Attributes
    ----------
    bank
        The valid bank.
    skipped
        One located problem per item left out because it needs a feature Skillgauge lacks.
    warnings
        Located notes on what was read approximately or not at all (provisional IRT
        parameters, feedback with no place in the bank...).
    """

    bank: Bank
    skipped: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    media: dict[str, bytes] = msgspec.field(default_factory=dict)


@dataclass
class Draft:
    """One importable item before validation.

    Attributes
    ----------
    raw
        The item's fields as a native file would hold them (``irt`` and ``competency`` may
        be absent: :func:`assemble` fills them in).
    source
        Where the item came from (file, or ``package.zip!path``), for messages.
    skills
        Skill tags as ``(identifier, label)`` (curriculum standards, GIFT categories...): the
        first becomes the item's competency, the rest content areas.
    provisional
        The importer filled in provisional ``irt`` itself (a GPCM for an item that awards
        partial credit); counted in the warning like items without parameters.
    """

    raw: dict[str, Any]
    source: str
    skills: tuple[tuple[str, str], ...] = ()
    provisional: bool = False


@dataclass
class Collected:
    """Drafts, skips and warnings gathered while reading a source."""

    drafts: list[Draft] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


_NOT_ID = re.compile(r"[^A-Za-z0-9_.:-]+")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}")


def slug(text: str, fallback: str = "x") -> str:
    """Turn free text into an identifier: ``"Unit 3: Fractions"`` -> ``Unit-3:-Fractions``.

    A text that already is an identifier is returned unchanged.
    """
    if _IDENTIFIER.fullmatch(text):
        return text
    cleaned = _NOT_ID.sub("-", text.strip()).strip("-_.:")
    if not cleaned or not cleaned[0].isalnum():
        cleaned = f"{fallback}-{cleaned}" if cleaned else fallback
    return cleaned[:64].rstrip("-_.:") or fallback


def provisional_irt(raw: dict[str, Any]) -> dict[str, Any]:
    """Provisional parameters that fit the item: a 2PL, or for partial scoring a GPCM.

    Partially scored multiple-response items get one GPCM step per key, spread over [-1, 1].
    """
    interaction = raw.get("interaction")
    if isinstance(interaction, dict) and interaction.get("scoring") == "partial":
        k = max(1, len(interaction.get("key") or ()))
        steps = [0.0] if k == 1 else [round(-1 + 2 * i / (k - 1), 6) for i in range(k)]
        return {"model": "gpcm", "a": 1.0, "thresholds": steps}
    return dict(PROVISIONAL_IRT)


def _provisional_models(models: dict[str, int]) -> str:
    """Name the provisional models written: ``they get the provisional 2PL a=1, b=0``."""
    names = {
        "2pl": "the provisional 2PL a=1, b=0",
        "gpcm": "a provisional GPCM a=1 with one category per credit level "
        "(their answers earn partial credit)",
    }
    if len(models) == 1:
        return f"they get {names.get(next(iter(models)), next(iter(models)))}"
    parts = [f"{n} get {names.get(m, m)}" for m, n in sorted(models.items())]
    return "; ".join(parts)


# Bytes that start a valid UTF-8 multi-byte sequence: in a file that also holds bytes that are
# not UTF-8, they mean mixed encodings (or UTF-8 mangled once already), never plain cp1252.
_UTF8_SEQUENCE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}"
)
# What Western text saved as Windows-1252 holds beyond ASCII: Latin letters and this
# punctuation. Other characters (superscripts, fractions, currency signs, ...) are where the
# code pages of other languages (cp1250, ISO 8859-2, cp1251, ...) put their letters, so a file
# that reads as one of them in cp1252 is not certainly cp1252.
_CP1252_PUNCTUATION = frozenset(
    "\u2018\u2019\u201a\u201c\u201d\u201e"  # quotation marks
    "\u2013\u2014\u2026\u2022\u00b7"  # dashes, ellipsis, bullets
    "\u00ab\u00bb\u00bf\u00a1\u00a0"  # guillemets, inverted marks, no-break space
    "\u20ac\u00a3\u00b0\u00a9\u00ae\u2122\u00a7\u00d7"  # euro, pound, degree, (c), ...
)
# Where cp1250 letters read as cp1252 punctuation would give themselves away: an inverted
# mark after a letter (cp1250 "\u017c" reads as "\u00bf"), a currency sign before one
# (cp1250 "\u0141" reads as "\u00a3").
_IMPLAUSIBLE = re.compile("[^\\W\\d_][\u00bf\u00a1]|[\u00a3\u20ac][^\\W\\d_]")
# Western words mix accented letters with plain ones ("où", "Straße"); a word of accented
# letters only is Cyrillic or Greek (cp1251, cp1253) read as cp1252 ("\u00cf\u00f0\u00e8").
_NON_ASCII_WORD = re.compile("(?:(?![a-zA-Z])[^\\W\\d_]){2,}")
# At most this share of a file's letters beyond ASCII (French and German text: 2-5 %).
_MAX_ACCENTED = 0.3
_NOT_CP1252_LETTERS = frozenset("\u0178")  # cp1252's Y with diaeresis is cp1250's z acute


def _certainly_cp1252(data: bytes) -> str | None:
    """``data`` decoded as Windows-1252 when that reading is certain, else None.

    Certain means: every byte is defined in cp1252 (strict decode), no byte run is valid
    UTF-8 beyond ASCII (no mixed encodings), every character beyond ASCII is a Latin
    letter or ordinary Western punctuation (``_CP1252_PUNCTUATION``), none sits where
    only another code page's letter would (``_IMPLAUSIBLE``), no word is made of accented
    letters only and at most 30 % of the letters are accented (Cyrillic or Greek read as
    cp1252 are all accented Latin letters). This is a strong, not a
    perfect, test: a short Central European text using only letters that cp1250 and cp1252
    place alike, or that read as other Latin letters, passes; so the import always warns,
    naming the encoding and the first byte, for the author to check.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    if _UTF8_SEQUENCE.search(data):
        return None
    for char in set(text):
        if char.isascii() or char in _CP1252_PUNCTUATION:
            continue
        latin = char.isalpha() and unicodedata.name(char, "").startswith("LATIN")
        if not latin or char in _NOT_CP1252_LETTERS:
            return None
    if _IMPLAUSIBLE.search(text) or _NON_ASCII_WORD.search(text):
        return None
    letters = sum(ch.isalpha() for ch in text)
    accented = sum(ch.isalpha() and not ch.isascii() for ch in text)
    if accented > _MAX_ACCENTED * letters:
        return None
    return text


def decode_text(
    data: bytes, source: str, *, accept_cp1252: bool = True
) -> tuple[str, list[Problem]]:
    """``data`` as text (a UTF-8 BOM is dropped) and the warnings of reading it, or a refusal.

    UTF-8 is read as is. A file that is not UTF-8 but certainly Windows-1252 (cp1252, the
    usual encoding of files saved on Windows in Western languages; see
    :func:`_certainly_cp1252`) is read as cp1252 with a warning naming the encoding and the
    first byte that is not UTF-8, unless ``accept_cp1252`` is False. Anything else is refused
    with the line and column of the first byte that is not UTF-8, naming Windows-1252 when the
    file reads as it, so the author can re-save the file as UTF-8.
    """
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        start = exc.start
    line = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    byte = data[start]
    where = f"line {line}"
    text = _certainly_cp1252(data) if accept_cp1252 else None
    if text is not None:
        shown = bytes([byte]).decode("cp1252")
        warning = Problem(
            source=source,
            field=where,
            message=f"not UTF-8 text: read as Windows-1252 (cp1252), where byte 0x{byte:02X} "
            f"at column {column} is {shown!r}; check the accented characters, or save the "
            "file as UTF-8",
        )
        return text, [warning]
    message = f"not UTF-8 text: byte 0x{byte:02X} at column {column}"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        message += "; save the file as UTF-8"
    else:
        shown = bytes([byte]).decode("cp1252")
        message += f" (the file reads as Windows-1252, where it is {shown!r}); save it as UTF-8"
    raise BankValidationError([Problem(source=source, field=where, message=message)])


def skill(label: str, identifier: str | None = None) -> tuple[str, str]:
    """A skill tag ``(identifier, label)``; the identifier is derived from the label if absent."""
    label = " ".join(label.split()) or (identifier or "skill")
    return (slug(identifier or label, "skill"), label)


def bank_id_for(source: str) -> str:
    """The bank id derived from a file or package name (``algebra-1.zip`` -> ``algebra-1``)."""
    name = PurePath(source.split("!", maxsplit=1)[0]).name
    stem = name.split(".")[0] if name else "imported"
    return slug(stem, "bank")


def assemble(
    collected: Collected,
    *,
    source: str,
    limits: Limits = DEFAULT_LIMITS,
    bank_id: str | None = None,
    title: str | None = None,
    version: str = "1",
    description: str = "",
    competencies: Sequence[Competency] = (),
    content_areas: Sequence[ContentArea] = (),
    media: Sequence[tuple[MediaFile, bytes]] = (),
) -> ImportResult:
    """Build and validate the bank from what an importer collected.

    Raises
    ------
    BankValidationError
        With every located problem when any item is malformed, the limits are exceeded, or
        nothing at all could be imported (the skipped items are listed then).
    """
    if collected.errors:
        raise BankValidationError(collected.errors)
    if not collected.drafts:
        headline = Problem(source=source, message="nothing could be imported")
        raise BankValidationError([*collected.skipped, headline])
    if len(collected.drafts) > limits.max_items:
        raise BankValidationError(
            [
                Problem(
                    source=source,
                    message=f"{len(collected.drafts):,} items; the limit is {limits.max_items:,}",
                )
            ]
        )
    bank_id = bank_id or bank_id_for(source)
    title = title or bank_id
    warnings = list(collected.warnings)
    known = {c.id: c for c in competencies}
    skill_names: dict[str, str] = {}
    area_names: dict[str, str] = {a.id: a.name for a in content_areas}
    default_competency = slug(bank_id)
    problems: list[Problem] = []
    items: list[Item] = []
    provisional = 0
    models: dict[str, int] = {}
    for draft in collected.drafts:
        raw = dict(draft.raw)
        if "competency" not in raw:
            if draft.skills:
                skill, label = draft.skills[0]
                skill_names.setdefault(skill, label)
                raw["competency"] = skill
            else:
                raw["competency"] = default_competency
        if draft.skills[1:] and "content_areas" not in raw:
            for tag, label in draft.skills[1:]:
                area_names.setdefault(tag, label)
            raw["content_areas"] = list(dict.fromkeys(tag for tag, _ in draft.skills[1:]))[:20]
        if "irt" not in raw:
            raw["irt"] = provisional_irt(raw)
            provisional += 1
            models[raw["irt"]["model"]] = models.get(raw["irt"]["model"], 0) + 1
        elif draft.provisional:
            provisional += 1
            models[raw["irt"]["model"]] = models.get(raw["irt"]["model"], 0) + 1
        label = str(raw.get("id") or "?")
        try:
            items.append(msgspec.convert(raw, Item))
        except msgspec.ValidationError as exc:
            parts, message = explain(str(exc), raw)
            problems.append(
                Problem(
                    source=draft.source, item=label, field=join_path(parts) or None, message=message
                )
            )
    if provisional:
        warnings.append(
            Problem(
                source=source,
                message=f"{provisional} of {len(collected.drafts)} items carry no IRT parameters; "
                f"{_provisional_models(models)} until calibrated",
            )
        )
    comps = list(competencies)
    used = dict.fromkeys(item.competency for item in items)
    for cid in used:
        if cid not in known:
            name = skill_names.get(cid) or (title if cid == default_competency else cid)
            known[cid] = Competency(id=cid, name=name[:200])
            comps.append(known[cid])
    header = Bank(
        id=bank_id,
        title=title[:200],
        version=version,
        description=description,
        competencies=tuple(comps),
        content_areas=tuple(ContentArea(id=k, name=v[:200]) for k, v in area_names.items()),
        items=(),
    )
    try:
        header = msgspec.convert(msgspec.to_builtins(header), Bank)
    except msgspec.ValidationError as exc:
        parts, message = explain(str(exc), msgspec.to_builtins(header))
        problems.append(Problem(source=source, field=join_path(parts) or None, message=message))
    if problems:
        raise BankValidationError(problems)
    text = msgspec.json.encode(items).decode()  # keep only files some kept item shows
    files = {f.sha256: (f, data) for f, data in media if f"({f.path})" in text}
    bank = msgspec.structs.replace(
        header,
        items=tuple(items),
        media=tuple(sorted((f for f, _ in files.values()), key=lambda f: f.path)),
    )
    problems = check_bank(bank, source)
    if problems:
        raise BankValidationError(problems)
    warnings.extend(bank_warnings(bank, source))
    return ImportResult(
        bank=bank,
        skipped=tuple(collected.skipped),
        warnings=tuple(warnings),
        media={sha: data for sha, (_, data) in files.items()},
    )
