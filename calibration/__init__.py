"""Calibration: fit item parameters from response data (pure numpy/scipy).

Marginal maximum likelihood by EM on a fixed quadrature grid (:func:`calibrate`), standard
errors, item and model fit, linking and fixed-parameter calibration, person scoring, and the
bank-level workflow that turns a response export into a new bank version
(:func:`calibrate_bank`). Imports go one way: ``calibration -> engine -> item_banks``.
"""

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
from calibration.models import MODELS, ModelName
from calibration.priors import BetaPrior, LogNormalPrior, Priors
from calibration.scoring import Scores, score
from calibration.standard_errors import attach_standard_errors
from calibration.workflow import BankCalibration, calibrate_bank

__all__ = [
    "MODELS",
    "BankCalibration",
    "BetaPrior",
    "CalibrationError",
    "CalibrationWarning",
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
    "collapse",
    "from_array",
    "item_fit",
    "link",
    "model_fit",
    "q3",
    "read_long",
    "read_responses",
    "read_wide",
    "score",
    "transform",
    "write_long",
]
