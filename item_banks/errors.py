"""The exception tree of :mod:`item_banks`.

Every error that an author can cause carries *where* it happened: the file, the item
identifier and the field. ``web/`` maps these classes to HTTP responses in one place; the CLI
prints :meth:`Problem.__str__` lines.
"""

from __future__ import annotations

import msgspec


class Problem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One located problem in a bank.

    Attributes
    ----------
    source
        The file (or upload name) the problem was found in.
    message
        What is wrong, in plain words, ideally with the offending value.
    item
        The item identifier, when the problem is inside an item.
    field
        The dotted path of the field inside the item (or the bank), e.g. ``irt.a``.
    """

    source: str
    message: str
    item: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.item is not None:
            parts.append(f'item "{self.item}"')
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class ItemBankError(Exception):
    """Base class of every error raised by :mod:`item_banks`."""


class BankValidationError(ItemBankError):
    """A bank (or a file meant to be one) is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("BankValidationError needs at least one problem")
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class AnswerError(ItemBankError):
    """A raw answer does not fit the item's interaction (unknown option, wrong shape).

    This is the learner's (or client's) input being malformed, not a wrong answer: a wrong
    answer is scored, a malformed one is refused so it can be corrected.
    """

    def __init__(self, item_id: str, message: str) -> None:
        self.item_id = item_id
        self.message = message
        super().__init__(f'item "{item_id}": {message}')


class NotAutoScoredError(ItemBankError):
    """The item's answers are scored by a person (extended text), never automatically."""

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f'item "{item_id}": its answers are scored by a person, not automatically')
