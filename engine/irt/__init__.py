"""IRT models, vectorised over items x ability points.

Each model family holds its parameters as numpy arrays (one row per item) and gives category
probabilities with their first and second derivatives in theta; information and likelihoods
follow from those generically (:mod:`engine.irt.generic`).
"""

from engine.irt.dichotomous import Dichotomous
from engine.irt.generic import (
    Family,
    expected_second_derivative,
    information_from_derivatives,
)
from engine.irt.graded import GradedResponse
from engine.irt.partial_credit import GeneralizedPartialCredit

__all__ = [
    "Dichotomous",
    "Family",
    "GeneralizedPartialCredit",
    "GradedResponse",
    "expected_second_derivative",
    "information_from_derivatives",
]
