"""Answers as a learner's browser sends them: in the option ids the session was shown.

The engine's simulated learner (:func:`engine.learner.raw_answer`) answers in the bank's
option ids; the service shows each session its own opaque ids (:mod:`web.answers`). Tests
in the same process translate with the server's key (:func:`shown_ids`); tests against a
server process translate by option text, as a person reading the page would
(:func:`shown_by_text`). Composite items' ``FIELD=VALUE`` entries are translated field by
field (each field's options are shown under the role of its id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from item_banks.model import (
    Associate,
    Composite,
    FieldInteraction,
    GapMatch,
    Interaction,
    Item,
    Match,
    MultipleResponse,
    Option,
    Order,
    SingleChoice,
)
from item_banks.scoring import RawAnswer
from web.answers import OptionIds
from web.markdown import render_inline

#: Translates (role, bank id) to the shown id.
Shown = Callable[[str, str], str]


def _translate(
    interaction: Interaction | FieldInteraction, raw: RawAnswer, shown: Shown, role: str = ""
) -> RawAnswer:
    if isinstance(interaction, Composite):
        fields = {f.id: f for f in interaction.fields}
        out = []
        for entry in [raw] if isinstance(raw, str) else raw:
            name, _, value = entry.partition("=")
            got = _translate(fields[name].interaction, value, shown, name)
            out.append(f"{name}={got if isinstance(got, str) else got[0]}")
        return out
    if isinstance(interaction, Associate):
        pairs = [raw] if isinstance(raw, str) else raw
        return [" ".join(shown(role, part) for part in p.split()) for p in pairs]
    if isinstance(interaction, SingleChoice | MultipleResponse | Order):
        return shown(role, raw) if isinstance(raw, str) else [shown(role, o) for o in raw]
    if isinstance(interaction, Match):
        pairs = [raw] if isinstance(raw, str) else raw
        source, target = (f"{role}:s", f"{role}:t") if role else ("s", "t")
        return [f"{shown(source, p.split()[0])} {shown(target, p.split()[1])}" for p in pairs]
    return raw


def shown_ids(secret_key: str, session_id: str, item: Item, raw: RawAnswer) -> RawAnswer:
    """``raw`` (bank ids) in the ids session ``session_id`` is shown (needs the server key)."""
    ids = OptionIds(secret_key, session_id)
    return _translate(item.interaction, raw, lambda role, o: ids.shown(item.id, o, role))


def _by_text(
    interaction: Interaction | FieldInteraction, view: Mapping[str, Any], role: str
) -> dict[tuple[str, str], str]:
    """(role, bank id) -> shown id, matched by the options' rendered text."""
    sources: tuple[Option, ...] = ()
    targets: tuple[Option, ...] = ()
    if isinstance(interaction, SingleChoice | MultipleResponse | Order | Associate):
        sources = interaction.options
    elif isinstance(interaction, Match):
        sources, targets = interaction.sources, interaction.targets
    by_html = {o["html"]: o["id"] for o in view.get("options", [])}
    source_role = (
        f"{role}:s"
        if role and isinstance(interaction, Match)
        else role or ("s" if isinstance(interaction, Match) else "")
    )
    target_role = f"{role}:t" if role else "t"
    out = {(source_role, o.id): by_html[render_inline(o.text)] for o in sources}
    shown_targets = view.get("targets", [])
    if isinstance(interaction, GapMatch):  # gaps are shown in order, as "Gap n of N"
        out |= {(target_role, o.id): t["id"] for o, t in zip(targets, shown_targets, strict=True)}
    else:
        by_target = {o["html"]: o["id"] for o in shown_targets}
        out |= {(target_role, o.id): by_target[render_inline(o.text)] for o in targets}
    return out


def shown_by_text(item: Item, view_item: Mapping[str, Any], raw: RawAnswer) -> RawAnswer:
    """``raw`` (bank ids) in the ids of ``view_item`` (the API's item), matched by text."""
    interaction = item.interaction
    table: dict[tuple[str, str], str] = {}
    if isinstance(interaction, Composite):
        views = {f["id"]: f for f in view_item.get("fields", [])}
        for field in interaction.fields:
            table |= _by_text(field.interaction, views[field.id], field.id)
    else:
        table = _by_text(interaction, view_item, "")
    return _translate(interaction, raw, lambda role, o: table[(role, o)])
