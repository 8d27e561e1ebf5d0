"""What a submitted answer means: per-session option ids, and empty answers refused.

**Opaque option ids.** Banks name options by short ids, often letters, and an author who
writes every multiple-response item with the key first makes "b" (or "a") the key of most
of them. Learners therefore never see the bank's ids: each option is shown under an id
derived for the session, item and option::

    shown = "o" + base32(HMAC-SHA256(K, session_id | item_id | role | option_id))[:10]

with ``K`` derived from the server's secret key. The same session sees the same ids on every
reload (no state is stored); another session sees unrelated ids, and without the secret key
the ids say nothing about the bank's (HMAC is a pseudorandom function; Bellare, Canetti &
Krawczyk, 1996). The shuffle of the options is keyed the same way, so the order does not
give the bank's order away either. Answers come back in shown ids and are mapped to the
bank's ids before scoring; stored responses, the export and calibration keep the bank's.

**Empty answers are never scored.** Nothing ticked, nothing typed, no pair matched: the
learner is asked, in plain words, for an answer, and the page keeps what it had.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

from item_banks.errors import AnswerError
from item_banks.model import (
    Associate,
    Composite,
    Field,
    Item,
    Match,
    MultipleResponse,
    Order,
    SingleChoice,
)
from item_banks.scoring import RawAnswer

ID_LENGTH = 10

#: What to ask for when an answer of each kind arrives empty.
EMPTY_ANSWER = {
    "single_choice": "Choose an answer.",
    "multiple_response": "Choose at least one answer.",
    "numeric": "Type a number.",
    "short_text": "Type your answer.",
    "order": "Give every item a position.",
    "match": "Match at least one item with a choice.",
    "composite": "Fill in at least one blank.",
}


class OptionIds:
    """The option ids one session sees, and the way back to the bank's ids."""

    def __init__(self, secret_key: str, session_id: str) -> None:
        self._key = hashlib.sha256(
            b"skillgauge option-ids\x00" + secret_key.encode("utf-8")
        ).digest()
        self._session = session_id

    def _mac(self, *parts: str) -> bytes:
        message = "\x00".join((self._session, *parts)).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def shown(self, item_id: str, option_id: str, role: str = "") -> str:
        """The id option ``option_id`` of item ``item_id`` has in this session.

        ``role`` separates the sources (``"s"``) and targets (``"t"``) of a match item,
        whose ids may repeat between the two lists.
        """
        digest = self._mac("id", item_id, role, option_id)
        return "o" + base64.b32encode(digest).decode("ascii").lower()[:ID_LENGTH]

    def order(self, item_id: str, count: int, salt: str = "") -> list[int]:
        """A stable, keyed shuffle of ``count`` options (the same on every reload)."""
        order = list(range(count))
        random.Random(self._mac("order", item_id, salt)).shuffle(order)
        return order

    def mapping(self, item_id: str, option_ids: tuple[str, ...], role: str = "") -> dict[str, str]:
        """Shown id -> bank id for one list of options."""
        return {self.shown(item_id, option, role): option for option in option_ids}

    def to_bank(self, item: Item, answer: RawAnswer) -> RawAnswer:
        """The answer with this session's option ids replaced by the bank's.

        Raises
        ------
        AnswerError
            An id that is not one of the item's options in this session (a bank id, an id
            from another session or item, anything else), in plain words.
        """
        interaction = item.interaction
        if isinstance(interaction, Composite):
            return self._composite(item, interaction, answer)
        if isinstance(interaction, SingleChoice | MultipleResponse | Order):
            back = self.mapping(item.id, tuple(o.id for o in interaction.options))
            if isinstance(answer, str):
                return self._one(item, back, answer)
            return [self._one(item, back, value) for value in answer]
        if isinstance(interaction, Match):
            sources = self.mapping(item.id, tuple(o.id for o in interaction.sources), "s")
            targets = self.mapping(item.id, tuple(o.id for o in interaction.targets), "t")
            pairs = [answer] if isinstance(answer, str) else answer
            mapped = []
            for pair in pairs:
                parts = pair.split()
                if len(parts) != 2:
                    raise AnswerError(item.id, "match each item with one of the choices")
                mapped.append(
                    f"{self._one(item, sources, parts[0])} {self._one(item, targets, parts[1])}"
                )
            return mapped
        return answer

    def _composite(self, item: Item, composite: Composite, answer: RawAnswer) -> list[str]:
        """``FIELD=VALUE`` entries with each field's shown option ids mapped back.

        A field's options are shown under the role of its id (match sources and gap texts
        ``<id>:s``, targets and gaps ``<id>:t``), so two fields' ids never collide.
        """
        fields = {f.id: f for f in composite.fields}
        out: list[str] = []
        for entry in [answer] if isinstance(answer, str) else answer:
            name, sep, value = entry.partition("=")
            field = fields.get(name.strip())
            if not sep or field is None or not value.strip():
                out.append(entry)  # scoring refuses or ignores it, in plain words
                continue
            out.append(f"{field.id}={self._field_value(item, field, value.strip())}")
        return out

    def _field_value(self, item: Item, field: Field, value: str) -> str:
        inner = field.interaction
        if isinstance(inner, SingleChoice | MultipleResponse | Order):
            back = self.mapping(item.id, tuple(o.id for o in inner.options), field.id)
            return self._one(item, back, value)
        if isinstance(inner, Match | Associate):
            parts = value.split()
            if len(parts) != 2:
                raise AnswerError(item.id, "match each item with one of the choices")
            if isinstance(inner, Associate):
                back = self.mapping(item.id, tuple(o.id for o in inner.options), field.id)
                return f"{self._one(item, back, parts[0])} {self._one(item, back, parts[1])}"
            sources = self.mapping(item.id, tuple(o.id for o in inner.sources), f"{field.id}:s")
            targets = self.mapping(item.id, tuple(o.id for o in inner.targets), f"{field.id}:t")
            return f"{self._one(item, sources, parts[0])} {self._one(item, targets, parts[1])}"
        return value

    @staticmethod
    def _one(item: Item, back: dict[str, str], value: str) -> str:
        bank_id = back.get(value.strip())
        if bank_id is None:
            raise AnswerError(
                item.id, "that is not one of this question's choices; reload the page"
            )
        return bank_id


def refuse_empty(item_id: str, kind: str, answer: RawAnswer) -> None:
    """Raise :class:`AnswerError` asking for an answer when ``answer`` is empty.

    Empty means: no option chosen, only blanks typed, no pair matched. Nothing empty is
    ever scored (an empty multiple-response answer would otherwise count as wrong).
    """
    values = [answer] if isinstance(answer, str) else list(answer)
    if kind == "composite":
        values = [value.partition("=")[2] for value in values]
    if not any(value.strip() for value in values):
        raise AnswerError(item_id, EMPTY_ANSWER.get(kind, "Give an answer."))
