"""An item's reading load: how many words a learner must read before answering.

The engine's "too fast to read" flag (:mod:`engine.response_times`) compares a response time
with the time it takes to read the stem and every option at a generous reading speed.
Words are runs of letters and digits (an apostrophe or hyphen inside a word keeps it one
word: ``don't``, ``well-known``); Markdown syntax, punctuation and math operators are not
words, while every identifier and number in code or math is one.
"""

from __future__ import annotations

import re

from item_banks.model import Item, Match, MultipleResponse, Order, SingleChoice

_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")


def count_words(text: str) -> int:
    """Number of words in ``text`` (runs of letters and digits; see the module notes)."""
    return sum(1 for _ in _WORD.finditer(text))


def reading_texts(item: Item) -> list[str]:
    """The texts a learner reads to answer ``item``: the stem and every option shown."""
    texts = [item.stem]
    interaction = item.interaction
    if isinstance(interaction, SingleChoice | MultipleResponse | Order):
        texts.extend(option.text for option in interaction.options)
    elif isinstance(interaction, Match):
        texts.extend(option.text for option in interaction.sources)
        texts.extend(option.text for option in interaction.targets)
    return texts


def reading_words(item: Item) -> int:
    """Words in the stem and options of ``item`` (its reading load)."""
    return sum(count_words(text) for text in reading_texts(item))
