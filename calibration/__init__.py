"""Calibration: fit item parameters from response data (pure numpy/scipy).

Marginal maximum likelihood by EM on a fixed quadrature grid (:func:`calibrate`), conditional
ML for the Rasch and partial credit models (:func:`cml`), standard errors, item and model
fit, reliability, linking and fixed-parameter calibration, person scoring, R mirt's tables,
and the workflows that turn a response export into a new bank version
(:func:`calibrate_bank`) or, without a bank, into a skeleton bank
(:func:`calibrate_responses`). The notebook API is :mod:`calibration.api`. Imports go one
way: ``calibration -> engine -> item_banks``.
"""

from calibration.cml import CmlResult, cml
from calibration.data import (
    ResponseData,
    collapse,
    from_array,
    read_long,
    read_responses,
    read_wide,
    write_long,
)
from calibration.em import EMOptions, FitResult, calibrate
from calibration.errors import (
    CalibrationError,
    CalibrationWarning,
    DataProblem,
    LinkingError,
    ModelError,
    ResponseDataError,
)
from calibration.fit import item_fit, model_fit, q3
from calibration.linking import LinkingConstants, link, transform
from calibration.mirt_tables import read_mod2values, read_parameter_table, write_mod2values
from calibration.models import MODELS, ModelName
from calibration.priors import BetaPrior, LogNormalPrior, Priors
from calibration.reliability import empirical_reliability, marginal_reliability
from calibration.scoring import Scores, score
from calibration.standard_errors import attach_standard_errors
from calibration.workflow import BankCalibration, calibrate_bank, calibrate_responses

__all__ = [
    "MODELS",
    "BankCalibration",
    "BetaPrior",
    "CalibrationError",
    "CalibrationWarning",
    "CmlResult",
    "DataProblem",
    "EMOptions",
    "FitResult",
    "LinkingConstants",
    "LinkingError",
    "LogNormalPrior",
    "ModelError",
    "ModelName",
    "Priors",
    "ResponseData",
    "ResponseDataError",
    "Scores",
    "attach_standard_errors",
    "calibrate",
    "calibrate_bank",
    "calibrate_responses",
    "cml",
    "collapse",
    "empirical_reliability",
    "from_array",
    "item_fit",
    "link",
    "marginal_reliability",
    "model_fit",
    "q3",
    "read_long",
    "read_mod2values",
    "read_parameter_table",
    "read_responses",
    "read_wide",
    "score",
    "transform",
    "write_long",
    "write_mod2values",
]
