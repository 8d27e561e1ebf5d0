r"""A one-line progress bar for EM on a terminal (stderr), silent otherwise.

EM's number of steps is not known in advance, but its convergence measure is: the bar shows
how far the largest parameter change has come on a log scale, from the first step's change
:math:`\Delta_0` to the tolerance: :math:`\log(\Delta_0/\Delta) / \log(\Delta_0/\mathrm{tol})`.
It writes only when the stream is a terminal (not in pipes, logs or CI) and never with
``--quiet``.
"""

from __future__ import annotations

import math
import sys
from typing import TextIO


class ProgressBar:
    """Render ``label [#####.....] EM step n  max change x  logLik y`` in place."""

    def __init__(
        self, *, tol: float, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.tol = tol
        self._first: dict[str, float] = {}
        self._dirty = False
        self._label = ""

    def fraction(self, label: str, change: float) -> float:
        """Share of the way from the first change to the tolerance, on a log scale."""
        first = self._first.setdefault(label, max(change, self.tol * 10))
        if change <= self.tol:
            return 1.0
        span = math.log(first / self.tol)
        return min(max(math.log(first / max(change, 1e-300)) / span, 0.0), 1.0)

    def update(self, label: str, steps: int, change: float, loglik: float) -> None:
        """Redraw the line for one EM report."""
        share = self.fraction(label, change)
        if not self.enabled:
            return
        if self._dirty and label != self._label:
            self.stream.write("\n")
        self._label = label
        width = 28
        filled = round(share * width)
        line = (
            f"\r{label[:18]:<18} [{'#' * filled}{'.' * (width - filled)}] "
            f"EM step {steps:>4}  max change {change:8.2e}  logLik {loglik:,.2f}"
        )
        self.stream.write(line)
        self.stream.flush()
        self._dirty = True

    def finish(self) -> None:
        """End the line (if anything was drawn)."""
        if self.enabled and self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False
            self._first.clear()
