r"""Correlated competencies: the multivariate-normal prior, joint estimation and selection.

A correlated session scores every competency from every answer: the abilities have the
prior :math:`N(\mu 1, \sigma^2 R)` with the bank's correlation matrix :math:`R`, and each
item measures its own competency (between-item multidimensionality), so an answer informs
the other competencies through the prior only.

Modules: :mod:`~engine.multidim.prior` (:class:`MvnPrior`: mean, covariance, precision,
conditionals), :mod:`~engine.multidim.likelihood` (:class:`PatternLikelihood`: a pattern's
per-competency score, curvature and information, and its log-likelihood at many ability
vectors), :mod:`~engine.multidim.estimation` (:class:`JointPosterior`: MAP by Newton with the
Laplace covariance, EAP by quasi-Monte Carlo importance sampling, marginal posteriors on a
grid), :mod:`~engine.multidim.selection` (:class:`JointCriteria`: D-, A-, C-, T- and
E-optimal selection, vectorised over the pool).
"""

from engine.multidim.estimation import JointEstimate, JointPosterior
from engine.multidim.likelihood import PatternLikelihood
from engine.multidim.prior import MvnPrior
from engine.multidim.selection import JOINT_METHODS, JointCriteria

__all__ = [
    "JOINT_METHODS",
    "JointCriteria",
    "JointEstimate",
    "JointPosterior",
    "MvnPrior",
    "PatternLikelihood",
]
