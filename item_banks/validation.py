"""Semantic checks of a bank that its types alone cannot express.

Types (msgspec) already guarantee shapes and ranges such as ``a > 0``. This module checks what
spans several fields: unique identifiers, references to competencies, content areas and
misconceptions, keys that name existing options, ordered thresholds, and that an item's IRT
model fits how its interaction is scored.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import pairwise

from item_banks.correlations import check_correlations
from item_banks.credits import credit_category, reachable_credits
from item_banks.errors import Problem
from item_banks.formats.media import IMAGE, TYPE_OF_EXTENSION
from item_banks.model import (
    MAX_MEDIA_BYTES,
    MAX_MEDIA_FILES,
    Associate,
    Bank,
    CommonWrongAnswer,
    Competency,
    Composite,
    ExtendedText,
    FieldInteraction,
    FourPL,
    GapMatch,
    Graded,
    GraphicGapMatch,
    Hotspot,
    HotspotArea,
    HotText,
    Interaction,
    Item,
    Match,
    MatchPair,
    MultipleResponse,
    Numeric,
    Option,
    Order,
    PairCredit,
    PartialCredit,
    Resource,
    ShortText,
    SingleChoice,
    auto_scored,
    category_count,
    model_name,
)


def _duplicates(ids: Iterable[str]) -> list[str]:
    return [key for key, n in Counter(ids).items() if n > 1]


def normalise_text(text: str, *, case_sensitive: bool = False) -> str:
    """Normalise a short text answer: Unicode NFKC, collapsed whitespace, optional casefold."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text if case_sensitive else text.casefold()


def check_bank(bank: Bank, source: str, *, complete: bool = True) -> list[Problem]:
    """Return every semantic problem of ``bank`` (empty when it is valid).

    Parameters
    ----------
    bank
        A bank whose fields already passed type validation.
    source
        The file name used to locate problems.
    complete
        False when some items failed to decode: the checks that need every item (an empty
        bank, a competency that no item measures) are then skipped.
    """
    problems: list[Problem] = []

    def bank_problem(field: str, message: str) -> None:
        problems.append(Problem(source=source, field=field, message=message))

    for kind, ids in (
        ("competencies", [c.id for c in bank.competencies]),
        ("misconceptions", [m.id for m in bank.misconceptions]),
        ("content_areas", [a.id for a in bank.content_areas]),
    ):
        for dup in _duplicates(ids):
            bank_problem(kind, f'identifier "{dup}" is used more than once')
    if len(bank.media) > MAX_MEDIA_FILES:  # importers build banks without type checks
        bank_problem("media", f"{len(bank.media):,} media files; the limit is {MAX_MEDIA_FILES:,}")
    for dup in _duplicates(file.path for file in bank.media):
        bank_problem("media", f'path "{dup}" is used more than once')
    for at, file in enumerate(bank.media):
        if TYPE_OF_EXTENSION.get(file.path.rsplit(".", 1)[-1]) != file.content_type:
            bank_problem(f"media[{at}]", f"{file.path} is not named for {file.content_type}")
        if file.content_type.startswith("image/") and file.size > MAX_MEDIA_BYTES:
            bank_problem(
                f"media[{at}]",
                f"{file.size:,} bytes; the limit for an image is {MAX_MEDIA_BYTES:,}",
            )
    for dup in _duplicates(item.id for item in bank.items):
        problems.append(
            Problem(source=source, item=dup, field="id", message="item id is used more than once")
        )

    if not bank.competencies:
        bank_problem("competencies", "the bank defines no competency")
    if complete and not bank.items:
        bank_problem("items", "the bank has no items")

    for competency in bank.competencies:
        where = f'competencies["{competency.id}"]'
        for field, message in _check_levels(competency):
            bank_problem(f"{where}.{field}", message)
        for field, message in _check_resources(competency.resources):
            bank_problem(f"{where}.{field}", message)
    for misconception in bank.misconceptions:
        for field, message in _check_resources(misconception.resources):
            bank_problem(f'misconceptions["{misconception.id}"].{field}', message)

    competencies = {c.id for c in bank.competencies}
    misconceptions = {m.id for m in bank.misconceptions}
    areas = {a.id for a in bank.content_areas}
    for item in bank.items:
        problems.extend(_check_item(item, source, competencies, misconceptions, areas))

    measured = Counter(
        item.competency for item in bank.items if item.status == "operational" and auto_scored(item)
    )
    human_only = set(human_scored_only(bank))
    if complete and bank.items:
        for competency in bank.competencies:
            if measured[competency.id] == 0 and competency.id not in human_only:
                bank_problem(
                    f'competencies["{competency.id}"]',
                    "no operational item measures this competency",
                )
    problems.extend(check_correlations(bank, source))
    return problems


def human_scored_only(bank: Bank) -> list[str]:
    """The competencies whose operational items are all scored by a person (essays).

    Such a bank is valid and can be stored (its essays are kept, never scored), but the
    engine cannot measure these competencies adaptively, so no assessment can run on it.
    """
    measured = {
        item.competency for item in bank.items if item.status == "operational" and auto_scored(item)
    }
    human = {
        item.competency
        for item in bank.items
        if item.status == "operational" and not auto_scored(item)
    }
    return [c.id for c in bank.competencies if c.id in human and c.id not in measured]


def bank_warnings(bank: Bank, source: str) -> list[Problem]:
    """What a valid bank stores but the engine cannot use, one located warning per reason."""
    return [
        Problem(
            source=source,
            field=f'competencies["{cid}"]',
            message="this competency has only human-scored items: it cannot be measured "
            "adaptively (the items are stored, never scored; an assessment on this bank "
            "version is refused)",
        )
        for cid in human_scored_only(bank)
    ]


def _check_levels(competency: Competency) -> list[tuple[str, str]]:
    """Levels run from lowest to highest: the first has no ``min_theta``, the rest rise."""
    found: list[tuple[str, str]] = []
    levels = competency.levels
    for dup in _duplicates(level.label for level in levels):
        found.append(("levels", f'label "{dup}" is used more than once'))
    previous: float | None = None
    for i, level in enumerate(levels):
        if i == 0:
            if level.min_theta is not None:
                found.append(
                    (
                        "levels[0].min_theta",
                        "the first (lowest) level starts at minus infinity: leave min_theta out",
                    )
                )
            continue
        if level.min_theta is None:
            found.append((f"levels[{i}].min_theta", "every level after the first needs one"))
            continue
        if previous is not None and not level.min_theta > previous:
            found.append(
                (
                    f"levels[{i}].min_theta",
                    f"must be above the previous level's ({previous:g}), got {level.min_theta:g}",
                )
            )
        previous = level.min_theta
    return found


def _check_resources(resources: tuple[Resource, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for i, resource in enumerate(resources):
        if resource.url is None and not resource.reference.strip():
            found.append((f"resources[{i}]", "needs a url or a reference"))
    for dup in _duplicates(r.title for r in resources):
        found.append(("resources", f'title "{dup}" is used more than once'))
    return found


def _accepted_windows(interaction: Numeric) -> list[tuple[float, float]]:
    """The intervals of numbers that earn credit: the key's tolerance and the alternatives."""
    width = interaction.tolerance * (
        abs(interaction.key) if interaction.tolerance_mode == "relative" else 1.0
    )
    windows = [(interaction.key - width, interaction.key + width)]
    windows += [(alt.low, alt.high) for alt in interaction.alternatives]
    return windows


def _check_common_wrong_answer(
    interaction: Numeric,
    answer: CommonWrongAnswer,
    where: str,
    misconceptions: set[str],
    add: Callable[[str, str], None],
) -> None:
    if answer.misconception is not None and answer.misconception not in misconceptions:
        add(
            f"{where}.misconception",
            f'"{answer.misconception}" is not a misconception of this bank',
        )
    ranged = answer.low is not None or answer.high is not None
    if answer.value is not None and ranged:
        add(where, "give either value or low and high, not both")
        return
    if answer.value is None and not ranged:
        add(where, "needs a value, or low and high")
        return
    if isinstance(answer.value, str):
        return  # nan, inf, -inf: never an accepted answer
    if answer.value is not None:
        if not math.isfinite(answer.value):
            add(f"{where}.value", 'must be a finite number (or "nan", "inf", "-inf")')
            return
        width = interaction.tolerance * (
            abs(answer.value) if interaction.tolerance_mode == "relative" else 1.0
        )
        low, high = answer.value - width, answer.value + width
    else:
        if answer.low is None or answer.high is None:
            add(where, "a range needs both low and high")
            return
        if not (math.isfinite(answer.low) and math.isfinite(answer.high)):
            add(where, "bounds must be finite numbers")
            return
        if answer.low > answer.high:
            add(where, f"low {answer.low:g} is above high {answer.high:g}")
            return
        low, high = answer.low, answer.high
    for lo, hi in _accepted_windows(interaction):
        if low <= hi and lo <= high:
            add(
                where,
                f"overlaps the accepted answers [{lo:g}, {hi:g}]: a wrong answer must score 0",
            )
            return


def _check_item(
    item: Item,
    source: str,
    competencies: set[str],
    misconceptions: set[str],
    areas: set[str],
) -> list[Problem]:
    problems: list[Problem] = []

    def add(field: str, message: str) -> None:
        problems.append(Problem(source=source, item=item.id, field=field, message=message))

    if item.competency not in competencies:
        add("competency", f'"{item.competency}" is not a competency of this bank')
    for i, area in enumerate(item.content_areas):
        if area not in areas:
            add(f"content_areas[{i}]", f'"{area}" is not a content area of this bank')
    for dup in _duplicates(item.content_areas):
        add("content_areas", f'"{dup}" is listed more than once')

    interaction = item.interaction
    if isinstance(interaction, Composite):
        _check_composite(item.stem, interaction, misconceptions, add)
    else:
        _check_interaction(interaction, misconceptions, add)
    _check_irt(item, add)
    return problems


_MARKER = re.compile(r"\{\{([A-Za-z0-9_][A-Za-z0-9_.:-]*)\}\}")


def markers(text: str) -> list[str]:
    """The ids marked ``{{ID}}`` in ``text``, in order (fields, gaps, hot texts)."""
    return _MARKER.findall(text)


def _check_composite(
    stem: str, composite: Composite, misconceptions: set[str], add: Callable[[str, str], None]
) -> None:
    ids = [f.id for f in composite.fields]
    for dup in _duplicates(ids):
        add("interaction.fields", f'field id "{dup}" is used more than once')
    in_stem = Counter(markers(stem))
    for i, field in enumerate(composite.fields):
        where = f"interaction.fields[{i}]"

        def add_field(name: str, message: str, where: str = where) -> None:
            add(name.replace("interaction", f"{where}.interaction", 1), message)

        if in_stem[field.id] > 1:
            add(f"{where}.id", f'"{{{{{field.id}}}}}" marks the field more than once in the stem')
        if field.misconception is not None and field.misconception not in misconceptions:
            add(
                f"{where}.misconception",
                f'"{field.misconception}" is not a misconception of this bank',
            )
        _check_interaction(field.interaction, misconceptions, add_field)
        inner = field.interaction
        if isinstance(inner, GapMatch | HotText):
            placed = Counter(markers(inner.text))
            spots = inner.targets if isinstance(inner, GapMatch) else inner.options
            kind = "gap" if isinstance(inner, GapMatch) else "hot text"
            for spot in spots:
                if placed[spot.id] != 1:
                    add(
                        f"{where}.interaction.text",
                        f'the {kind} "{spot.id}" must be marked {{{{{spot.id}}}}} exactly once '
                        f"(found {placed[spot.id]})",
                    )
            clash = sorted(set(placed) & set(ids))
            if clash:
                add(f"{where}.interaction.text", f'"{clash[0]}" is also a field id')


def _check_associate(
    interaction: Associate, misconceptions: set[str], add: Callable[[str, str], None]
) -> None:
    _check_options(interaction.options, "interaction.options", misconceptions, add)
    ids = {o.id for o in interaction.options}

    def check_pairs(pairs: Iterable[MatchPair | PairCredit], where: str) -> None:
        seen: set[frozenset[str]] = set()
        for i, pair in enumerate(pairs):
            for end in ("source", "target"):
                if getattr(pair, end) not in ids:
                    add(f"{where}[{i}].{end}", f'"{getattr(pair, end)}" is not an option')
            if pair.source == pair.target:
                add(f"{where}[{i}]", f'"{pair.source}" cannot be paired with itself')
            both = frozenset((pair.source, pair.target))
            if both in seen:
                add(f"{where}[{i}]", f'"{pair.source} {pair.target}" is listed more than once')
            seen.add(both)

    check_pairs(interaction.key, "interaction.key")
    check_pairs(interaction.credits, "interaction.credits")
    if 0 < interaction.max_associations < len(interaction.key):
        add(
            "interaction.max_associations",
            f"the key has {len(interaction.key)} pairs; the learner may give only "
            f"{interaction.max_associations}",
        )
    if interaction.scoring != "weighted":
        if interaction.credits:
            add("interaction.credits", "are only used with scoring: weighted")
        return
    credit = {frozenset((p.source, p.target)): p.credit for p in interaction.credits}
    key = {frozenset((p.source, p.target)) for p in interaction.key}
    for i, pair in enumerate(interaction.key):
        if credit.get(frozenset((pair.source, pair.target)), 0.0) <= 0:
            add(f"interaction.key[{i}]", "a key pair must earn credit > 0 (see credits)")
    total = sum(max(0.0, credit.get(k, 0.0)) for k in key)
    if total < 1.0 - 1e-6:
        add("interaction.key", f"the key pairs earn {total:g} in all; they must reach 1")


#: An XML NCName of the identifier characters (what QTI identifiers must be).
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
#: How many coordinates each hotspot shape takes (a polygon: an even number, 6 at least).
_SHAPE_COORDS = {"rect": 4, "circle": 3, "ellipse": 4}


def _area_problem(area: HotspotArea, width: int, height: int) -> str | None:
    """Why ``area``'s coordinates do not fit its shape on a ``width`` x ``height`` image."""
    c = area.coords
    wanted = _SHAPE_COORDS.get(area.shape)
    if wanted is not None and len(c) != wanted:
        what = {"rect": "left, top, right, bottom", "circle": "x, y, radius"}.get(
            area.shape, "x, y, horizontal radius, vertical radius"
        )
        return f"a {area.shape} takes {wanted} coordinates ({what}), got {len(c)}"
    if area.shape == "poly" and (len(c) < 6 or len(c) % 2):
        return f"a poly takes x, y pairs of three corners at least, got {len(c)} coordinates"
    if area.shape == "rect" and not (c[0] < c[2] and c[1] < c[3]):
        return "a rect's left must be less than its right and its top less than its bottom"
    if area.shape in ("circle", "ellipse") and min(c[2:]) <= 0:
        return f"the {area.shape}'s radius must be positive"
    if area.shape in ("circle", "ellipse"):
        xs, ys = [c[0]], [c[1]]
    else:
        xs, ys = list(c[0::2]), list(c[1::2])
    if max(xs) > width or max(ys) > height:
        return f"lies outside the {width} x {height} image"
    return None


def _check_areas(
    interaction: Hotspot | GraphicGapMatch,
    spots: list[str],
    add: Callable[[str, str], None],
) -> None:
    """The image has alt text; each of ``spots`` has exactly one area, which fits the image."""
    picture = IMAGE.fullmatch(interaction.image)
    if picture is None or not picture.group(1).strip():
        add(
            "interaction.image",
            "must be one image with its alt text, ![alt text](media/....png)",
        )
    kind = "option" if isinstance(interaction, Hotspot) else "target"
    placed = Counter(a.id for a in interaction.areas)
    for spot in spots:
        if placed[spot] != 1:
            add(
                "interaction.areas",
                f'the {kind} "{spot}" must have exactly one area (found {placed[spot]})',
            )
    for i, area in enumerate(interaction.areas):
        if not _NCNAME.fullmatch(area.id):
            add(
                f"interaction.areas[{i}].id",
                f'"{area.id}" is not an XML NCName (QTI identifiers start with a letter or _ '
                "and hold no :)",
            )
        if area.id not in spots:
            add(f"interaction.areas[{i}].id", f'"{area.id}" is not an {kind} of this field')
        problem = _area_problem(area, interaction.width, interaction.height)
        if problem is not None:
            add(f"interaction.areas[{i}].coords", problem)


def _check_hotspot(interaction: Hotspot, add: Callable[[str, str], None]) -> None:
    """Each option has exactly one area, whose coordinates fit its shape and the image."""
    _check_areas(interaction, [o.id for o in interaction.options], add)
    if 0 < interaction.max_choices < len(interaction.key):
        add(
            "interaction.max_choices",
            f"{interaction.max_choices} is fewer than the {len(interaction.key)} key areas",
        )


def _check_interaction(
    interaction: Interaction | FieldInteraction,
    misconceptions: set[str],
    add: Callable[[str, str], None],
) -> None:
    """Check one interaction; ``add`` gets fields named ``interaction.*``."""
    if isinstance(interaction, Associate):
        _check_associate(interaction, misconceptions, add)
    if isinstance(interaction, SingleChoice | MultipleResponse | Order):
        _check_options(interaction.options, "interaction.options", misconceptions, add)
    if isinstance(interaction, Hotspot):
        _check_hotspot(interaction, add)
    if isinstance(interaction, GraphicGapMatch):
        _check_areas(interaction, [t.id for t in interaction.targets], add)
    if isinstance(interaction, SingleChoice | MultipleResponse):
        _check_choice(interaction, add)
    elif isinstance(interaction, Order):
        option_ids = [o.id for o in interaction.options]
        if sorted(interaction.key) != sorted(option_ids):
            add(
                "interaction.key",
                f"must list every option exactly once ({', '.join(option_ids)}), "
                f"got {', '.join(interaction.key)}",
            )
    elif isinstance(interaction, Match):
        _check_match(interaction, misconceptions, add)
    elif isinstance(interaction, Numeric):
        if not math.isfinite(interaction.key):
            add("interaction.key", f"must be a finite number, got {interaction.key}")
        if interaction.tolerance_mode == "relative" and interaction.key == 0:
            add("interaction.tolerance_mode", "a relative tolerance around a key of 0 is 0")
        for i, interval in enumerate(interaction.alternatives):
            if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
                add(f"interaction.alternatives[{i}]", "bounds must be finite numbers")
            elif interval.low > interval.high:
                add(
                    f"interaction.alternatives[{i}]",
                    f"low {interval.low:g} is above high {interval.high:g}",
                )
            elif interval.low == interval.high and not (
                interval.include_low and interval.include_high
            ):
                add(
                    f"interaction.alternatives[{i}]",
                    f"the interval at {interval.low:g} excludes an end, so it holds no number",
                )
        for i, wrong in enumerate(interaction.common_wrong_answers):
            _check_common_wrong_answer(
                interaction, wrong, f"interaction.common_wrong_answers[{i}]", misconceptions, add
            )
    elif isinstance(interaction, ShortText):
        seen: set[str] = set()
        accepted = [(f"interaction.key[{i}]", k) for i, k in enumerate(interaction.key)]
        accepted += [
            (f"interaction.alternatives[{i}].text", alt.text)
            for i, alt in enumerate(interaction.alternatives)
        ]
        for where, text in accepted:
            norm = normalise_text(text, case_sensitive=interaction.case_sensitive)
            if not norm:
                add(where, "is blank after normalisation")
            elif norm in seen:
                add(where, f"{text!r} repeats an earlier accepted answer")
            seen.add(norm)
        wrong_seen: set[str] = set()
        for i, wrong_text in enumerate(interaction.wrong_answers):
            where = f"interaction.wrong_answers[{i}]"
            norm = normalise_text(wrong_text.text, case_sensitive=interaction.case_sensitive)
            if not norm:
                add(f"{where}.text", "is blank after normalisation")
            elif norm in seen:
                add(f"{where}.text", f"{wrong_text.text!r} is also an accepted answer")
            elif norm in wrong_seen:
                add(f"{where}.text", f"{wrong_text.text!r} repeats an earlier wrong answer")
            wrong_seen.add(norm)
            named = wrong_text.misconception
            if named is not None and named not in misconceptions:
                add(f"{where}.misconception", f'"{named}" is not a misconception of this bank')


def _check_options(
    options: tuple[Option, ...],
    where: str,
    misconceptions: set[str],
    add: Callable[[str, str], None],
) -> None:
    for dup in _duplicates(o.id for o in options):
        add(where, f'option id "{dup}" is used more than once')
    for i, option in enumerate(options):
        if option.misconception is not None and option.misconception not in misconceptions:
            add(
                f"{where}[{i}].misconception",
                f'"{option.misconception}" is not a misconception of this bank',
            )


def _check_choice(
    interaction: SingleChoice | MultipleResponse, add: Callable[[str, str], None]
) -> None:
    option_ids = [o.id for o in interaction.options]
    single = isinstance(interaction, SingleChoice)
    keys = (interaction.key,) if isinstance(interaction, SingleChoice) else interaction.key
    for i, key in enumerate(keys):
        if key not in option_ids:
            where = "interaction.key" if single else f"interaction.key[{i}]"
            add(where, f'"{key}" is not one of the options ({", ".join(option_ids)})')
    if isinstance(interaction, MultipleResponse):
        for dup in _duplicates(interaction.key):
            add("interaction.key", f'"{dup}" is listed more than once')
    credits = {o.id: o.credit for o in interaction.options}
    if interaction.scoring != "weighted":
        for i, option in enumerate(interaction.options):
            if option.credit is not None:
                add(
                    f"interaction.options[{i}].credit",
                    "is only used with scoring: weighted",
                )
        return
    for i, key in enumerate(keys):
        credit = credits.get(key)
        if key in credits and (credit is None or credit <= 0):
            where = "interaction.key" if single else f"interaction.key[{i}]"
            add(where, f'key option "{key}" must earn credit > 0, got {credit or 0:g}')
    if single:
        top = max((c or 0.0) for c in credits.values())
        if credits.get(keys[0]) is not None and credits[keys[0]] != 1.0:
            add("interaction.key", f"the key must earn full credit 1, got {credits[keys[0]]:g}")
        elif top > 1.0:
            add("interaction.options", "no option may earn more than full credit")
    else:
        total = sum(max(0.0, credits.get(k) or 0.0) for k in keys)
        if total < 1.0 - 1e-6:
            add("interaction.key", f"the key options earn {total:g} in all; they must reach 1")
        for i, option in enumerate(interaction.options):
            if option.id not in keys and (option.credit or 0.0) > 0:
                add(
                    f"interaction.options[{i}].credit",
                    f'option "{option.id}" earns credit but is not in the key',
                )


def _check_match(
    interaction: Match, misconceptions: set[str], add: Callable[[str, str], None]
) -> None:
    _check_options(interaction.sources, "interaction.sources", misconceptions, add)
    _check_options(interaction.targets, "interaction.targets", misconceptions, add)
    sources = [o.id for o in interaction.sources]
    targets = [o.id for o in interaction.targets]
    for clash in sorted(set(sources) & set(targets)):
        add("interaction.targets", f'"{clash}" is both a source and a target id')

    def check_pairs(pairs: Iterable[MatchPair | PairCredit], where: str) -> None:
        seen: set[tuple[str, str]] = set()
        for i, pair in enumerate(pairs):
            if pair.source not in sources:
                add(f"{where}[{i}].source", f'"{pair.source}" is not a source')
            if pair.target not in targets:
                add(f"{where}[{i}].target", f'"{pair.target}" is not a target')
            if (pair.source, pair.target) in seen:
                add(f"{where}[{i}]", f'"{pair.source} {pair.target}" is listed more than once')
            seen.add((pair.source, pair.target))

    check_pairs(interaction.key, "interaction.key")
    check_pairs(interaction.credits, "interaction.credits")
    if interaction.scoring != "weighted":
        if interaction.credits:
            add("interaction.credits", "are only used with scoring: weighted")
        return
    credit = {(p.source, p.target): p.credit for p in interaction.credits}
    key = {(p.source, p.target) for p in interaction.key}
    for i, pair in enumerate(interaction.key):
        if credit.get((pair.source, pair.target), 0.0) <= 0:
            add(f"interaction.key[{i}]", "a key pair must earn credit > 0 (see credits)")
    for i, scored in enumerate(interaction.credits):
        if scored.credit > 0 and (scored.source, scored.target) not in key:
            add(f"interaction.credits[{i}]", "a pair that earns credit must be in the key")
    total = sum(max(0.0, credit.get(k, 0.0)) for k in key)
    if total < 1.0 - 1e-6:
        add("interaction.key", f"the key pairs earn {total:g} in all; they must reach 1")


def partial_credit_possible(item: Item) -> bool:
    """Return whether an answer to ``item`` can earn credit strictly between 0 and 1."""
    interaction = item.interaction
    if isinstance(interaction, SingleChoice):
        return interaction.scoring == "weighted" and any(
            0 < (o.credit or 0) < 1 for o in interaction.options
        )
    if isinstance(interaction, MultipleResponse | Match):
        return interaction.scoring == "weighted"
    if isinstance(interaction, Numeric):
        return any(alt.credit < 1 for alt in interaction.alternatives)
    if isinstance(interaction, ShortText):
        return bool(interaction.alternatives)
    if isinstance(interaction, Composite):
        levels = reachable_credits(interaction)
        return not levels or any(0 < level < 1 for level in levels)
    return isinstance(interaction, ExtendedText)


def _check_irt(item: Item, add: Callable[[str, str], None]) -> None:
    irt = item.irt
    model = model_name(irt)
    if isinstance(irt, FourPL) and not irt.c < irt.d:
        add("irt", f"lower asymptote c must be below upper asymptote d, got c={irt.c}, d={irt.d}")
    if isinstance(irt, Graded):
        steps = irt.thresholds
        if any(not lo < hi for lo, hi in pairwise(steps)):
            add("irt.thresholds", f"must be strictly increasing for grm, got {list(steps)}")
    if (
        irt.se is not None
        and irt.se.thresholds is not None
        and isinstance(irt, Graded | PartialCredit)
        and len(irt.se.thresholds) != len(irt.thresholds)
    ):
        add("irt.se.thresholds", "needs one standard error per threshold")

    interaction = item.interaction
    polytomous = isinstance(irt, Graded | PartialCredit)
    if isinstance(interaction, MultipleResponse) and interaction.scoring == "partial":
        if not polytomous:
            add(
                "irt.model",
                f"partial scoring needs grm or gpcm with one threshold per key, got {model}",
            )
        elif category_count(irt) != len(interaction.key) + 1:
            add(
                "irt.thresholds",
                f"partial scoring of {len(interaction.key)} keys needs "
                f"{len(interaction.key)} thresholds, got {category_count(irt) - 1}",
            )
    if item.credit_levels:
        levels = item.credit_levels
        if not polytomous:
            add("credit_levels", f"are only used with grm or gpcm, got {model}")
        elif len(levels) != category_count(irt) - 1:
            add(
                "credit_levels",
                f"needs one level per category above 0 ({category_count(irt) - 1}), "
                f"got {len(levels)}",
            )
        if any(not lo < hi for lo, hi in pairwise(levels)) or abs(levels[-1] - 1.0) > 1e-9:
            add("credit_levels", f"must increase strictly and end at 1, got {list(levels)}")
    if isinstance(interaction, Composite) and polytomous:
        _check_reachable(item, interaction, add)
    partial_scoring = isinstance(interaction, MultipleResponse) and interaction.scoring == "partial"
    if polytomous and not partial_scoring and not partial_credit_possible(item):
        add(
            "irt.model",
            f"{model} needs an interaction that can earn partial credit; "
            "this item is scored right or wrong (use 1pl-4pl)",
        )


def _check_reachable(item: Item, composite: Composite, add: Callable[[str, str], None]) -> None:
    """Every category of a polytomous composite item must be reachable by some answer."""
    levels = reachable_credits(composite)
    if not levels:
        return
    top = category_count(item.irt) - 1
    reached = {credit_category(level, top, item.credit_levels) for level in levels}
    missing = sorted(set(range(top + 1)) - reached)
    if missing:
        distinct = sorted(level for level in levels if level > 0)
        add(
            "irt.thresholds",
            f"{'category' if len(missing) == 1 else 'categories'} "
            f"{', '.join(map(str, missing))} can never be reached: the fields' "
            f"credits make {len(distinct)} levels above 0 "
            f"({', '.join(f'{v:.4g}' for v in distinct)}); give one threshold per level"
            + ("" if item.credit_levels else " (with credit_levels when they are unequal)"),
        )


#: Marks text still to be written, as in the skeleton banks ``skillgauge calibrate`` makes
#: from response data alone; ``bank validate`` lists every placeholder as a warning.
PLACEHOLDER = "(to be written)"


def placeholder_warnings(bank: Bank, source: str) -> list[Problem]:
    """Return one warning per stem or option that is still a :data:`PLACEHOLDER`."""
    warnings: list[Problem] = []
    for item in bank.items:
        if PLACEHOLDER in item.stem:
            warnings.append(
                Problem(
                    source=source,
                    item=item.id,
                    field="stem",
                    message="a placeholder: the stem is still to be written",
                )
            )
        interaction = item.interaction
        if isinstance(interaction, SingleChoice | MultipleResponse | Order):
            written = [o.id for o in interaction.options if PLACEHOLDER in o.text]
            if written:
                warnings.append(
                    Problem(
                        source=source,
                        item=item.id,
                        field="interaction.options",
                        message=f"options {', '.join(written)} are placeholders to be written",
                    )
                )
    return warnings


def lint_bank(bank: Bank, source: str) -> list[Problem]:
    """Return authoring warnings: what a learner would miss, though the bank still runs.

    Distractors without a rationale and items without a worked solution give feedback that
    only says "wrong"; numeric items without common wrong answers get only generic
    diagnoses; competencies without levels or resources give a thinner report; placeholders
    (:func:`placeholder_warnings`) still have to be written.
    """
    warnings: list[Problem] = placeholder_warnings(bank, source)
    for item in bank.items:
        interaction = item.interaction
        if isinstance(interaction, SingleChoice | MultipleResponse | Order):
            for i, option in enumerate(interaction.options):
                if not option.rationale.strip():
                    warnings.append(
                        Problem(
                            source=source,
                            item=item.id,
                            field=f"interaction.options[{i}].rationale",
                            message=f'option "{option.id}" has no rationale',
                        )
                    )
        if not item.solution.strip():
            warnings.append(
                Problem(source=source, item=item.id, field="solution", message="no solution")
            )
        if isinstance(interaction, Composite):
            for i, part in enumerate(interaction.fields):
                if not part.rationale.strip():
                    warnings.append(
                        Problem(
                            source=source,
                            item=item.id,
                            field=f"interaction.fields[{i}].rationale",
                            message=f'field "{part.id}" has no rationale: a wrong answer to it '
                            "gets only what its interaction's feedback composes",
                        )
                    )
        if isinstance(interaction, Numeric) and not interaction.common_wrong_answers:
            warnings.append(
                Problem(
                    source=source,
                    item=item.id,
                    field="interaction.common_wrong_answers",
                    message="no common wrong answers: a wrong number gets only a generic message",
                )
            )
    for competency in bank.competencies:
        where = f'competencies["{competency.id}"]'
        if not competency.levels:
            warnings.append(
                Problem(
                    source=source,
                    field=f"{where}.levels",
                    message="no levels: the report shows only a score",
                )
            )
        if not competency.resources:
            warnings.append(
                Problem(
                    source=source,
                    field=f"{where}.resources",
                    message="no study resources: the report cannot say what to study for it",
                )
            )
    return warnings
