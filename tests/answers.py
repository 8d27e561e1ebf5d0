"""Answers as a learner's browser sends them: in the option ids the session was shown.

The engine's simulated learner (:func:`engine.learner.raw_answer`) answers in the bank's
option ids; the service shows each session its own opaque ids (:mod:`web.answers`). Tests
in the same process translate with the server's key (:func:`shown_ids`); tests against a
server process translate by option text, as a person reading the page would
(:func:`shown_by_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from item_banks.model import Item, Match, MultipleResponse, Option, Order, SingleChoice
from item_banks.scoring import RawAnswer
from web.answers import OptionIds
from web.markdown import render_inline


def _translate(
    item: Item, raw: RawAnswer, option: Callable[[str], str], target: Callable[[str], str]
) -> RawAnswer:
    interaction = item.interaction
    if isinstance(interaction, SingleChoice | MultipleResponse | Order):
        return option(raw) if isinstance(raw, str) else [option(o) for o in raw]
    if isinstance(interaction, Match):
        pairs = [raw] if isinstance(raw, str) else raw
        return [f"{option(p.split()[0])} {target(p.split()[1])}" for p in pairs]
    return raw


def shown_ids(secret_key: str, session_id: str, item: Item, raw: RawAnswer) -> RawAnswer:
    """``raw`` (bank ids) in the ids session ``session_id`` is shown (needs the server key)."""
    ids = OptionIds(secret_key, session_id)
    return _translate(
        item,
        raw,
        lambda o: ids.shown(item.id, o, "s" if isinstance(item.interaction, Match) else ""),
        lambda t: ids.shown(item.id, t, "t"),
    )


def shown_by_text(item: Item, view_item: Mapping[str, Any], raw: RawAnswer) -> RawAnswer:
    """``raw`` (bank ids) in the ids of ``view_item`` (the API's item), matched by text."""
    interaction = item.interaction
    sources: tuple[Option, ...] = ()
    targets: tuple[Option, ...] = ()
    if isinstance(interaction, SingleChoice | MultipleResponse | Order):
        sources = interaction.options
    elif isinstance(interaction, Match):
        sources, targets = interaction.sources, interaction.targets
    by_html = {o["html"]: o["id"] for o in view_item.get("options", [])}
    by_target = {o["html"]: o["id"] for o in view_item.get("targets", [])}
    source_text = {o.id: render_inline(o.text) for o in sources}
    target_text = {o.id: render_inline(o.text) for o in targets}
    return _translate(
        item, raw, lambda o: by_html[source_text[o]], lambda t: by_target[target_text[t]]
    )
