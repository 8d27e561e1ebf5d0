r"""A one-line progress bar for EM on a terminal (stderr), silent otherwise.

EM's number of steps is not known in advance, but its convergence measure is: the bar shows
how far the largest parameter change has come on a log scale, from the first step's change
:math:`\Delta_0` to the tolerance: :math:`\log(\Delta_0/\Delta) / \log(\Delta_0/\mathrm{tol})`.
It writes only when the stream is a terminal (not in pipes, logs or CI) or when asked to
(``--progress``), and never with ``--quiet``. Besides EM, it names the phase that is
running (:meth:`ProgressBar.phase`: reading, start values, standard errors, item fit) and,
during EM, how many items are still moving (the others have met the criterion and are
frozen, see :func:`calibration.em.squarem`).
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

    def phase(self, text: str) -> None:
        """Show which phase is running (on its own line)."""
        if not self.enabled:
            return
        if self._dirty:
            self.stream.write("\n")
            self._dirty = False
        self.stream.write(f"{text} ...\n")
        self.stream.flush()

    def update(
        self, label: str, steps: int, change: float, loglik: float, moving: int | None = None
    ) -> None:
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
            f"EM step {steps:>4}  max change {change:8.2e}"
        )
        if math.isfinite(loglik):
            line += f"  logLik {loglik:,.2f}"
        if moving is not None:
            line += f"  {moving} items still moving"
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
