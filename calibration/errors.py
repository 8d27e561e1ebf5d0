"""The exception tree of :mod:`calibration`, and the warnings it issues.

Every problem a user can cause is located: response files by file, line and column, items by
their identifier. The CLI prints :class:`DataProblem` lines; the web service maps the classes
to problem responses in one place.

Warnings (:class:`CalibrationWarning`) are not raised: they are collected on the result of a
calibration (and shown by the CLI and the report), because a calibration that drops one
degenerate item should still deliver the other hundred.
"""

from __future__ import annotations

import msgspec


class DataProblem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One located problem in a response file.

    Attributes
    ----------
    source
        The file the problem was found in.
    message
        What is wrong, with the offending value.
    line
        1-based line number in the file (the header is line 1), when known.
    column
        The column name, when the problem is in one column.
    """

    source: str
    message: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        parts.append(self.message)
        return ": ".join(parts)


class CalibrationError(Exception):
    """Base class of every error raised by :mod:`calibration`."""


class ResponseDataError(CalibrationError):
    """A response file (or array) cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[DataProblem]) -> None:
        if not problems:
            raise ValueError("ResponseDataError needs at least one problem")
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ModelError(CalibrationError):
    """The data do not fit the requested model (e.g. code 2 for a dichotomous item).

    ``problems`` holds one located line per offending item.
    """

    def __init__(self, problems: list[str]) -> None:
        if not problems:
            raise ValueError("ModelError needs at least one problem")
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class LinkingError(CalibrationError):
    """Scale linking is impossible (too few common items, no spread in difficulties...)."""


class CalibrationWarning(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Something the user should know about a calibration that did not stop it.

    ``kind`` is a stable machine-readable tag (``not_estimable``, ``few_responses``,
    ``single_response``, ``empty_column``, ``not_converged``, ``out_of_range``,
    ``no_responses``, ``varying_covariate``); ``subject`` names the item or person.
    """

    kind: str
    message: str
    subject: str | None = None

    def __str__(self) -> str:
        return self.message if self.subject is None else f"{self.subject}: {self.message}"
