"""The notebook API: calibrate from an array or a DataFrame, inspect the result as tables.

A psychometrician's session, as with R mirt's ``mirt()``, ``coef()``, ``fscores()``,
``itemfit()`` and ``plot()``::

    import pandas as pd
    from calibration import api

    responses = pd.read_csv("responses.csv", index_col="person_id")   # wide or long
    fit = api.fit(responses, model="2pl")
    fit.coef()              # item, scale, model, a, b, g, u (or b1..bK), SEs, fit
    fit.scores("eap")       # person_id, scale, theta, se, n_items
    fit.item_fit()          # S-X2, df, p, RMSEA, infit, outfit
    fit.model_fit()         # logLik, AIC, BIC, M2, RMSEA, SRMSR, G2
    fit.reliability()       # marginal and empirical (EAP) reliability
    fit.plot_icc("S1DoCurse")  # an SVG figure that Jupyter renders
    fit.plot_information()
    fit.write_bank("bank.yaml")            # the skeleton bank, stems to be written
    fit.write_mod2values("values.csv")     # to continue or check the calibration in R

The methods that return tables need pandas (``pip install skillgauge[notebook]``); the
same rows are available without it (:meth:`Calibration.coef_records` and friends), and
``fit`` itself works on numpy arrays with the core dependencies only. Everything runs
through the command line's workflow (:func:`calibration.workflow.calibrate_responses`), so
the numbers are the same as ``skillgauge calibrate`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calibration.bank_update import write_bank_file, write_parameter_csv
from calibration.data import ResponseData
from calibration.em import EMOptions, FitResult
from calibration.errors import CalibrationError
from calibration.figures import Figure, curve_chart, curves_chart, information_chart
from calibration.fit import ItemFit
from calibration.frames import is_data_frame, response_data
from calibration.mirt_tables import (
    MirtValues,
    mod2values_rows,
    read_parameter_table,
    write_mod2values,
)
from calibration.models import DICHOTOMOUS, ModelName
from calibration.reliability import information_curve, population, scale_reliability
from calibration.report import render_report
from calibration.scoring import Method as ScoreMethod
from calibration.scoring import score
from calibration.skeleton import ItemGroups, read_item_groups
from calibration.standard_errors import SEMethod
from calibration.workflow import (
    BankCalibration,
    Method,
    ScaleCalibration,
    calibrate_responses,
    parameter_rows,
)
from engine.estimation import Grid
from engine.pool import ItemPool, compile_pool
from item_banks.model import Bank, IrtParameters

if TYPE_CHECKING:
    import pandas as pd

Record = dict[str, Any]


def _frame(records: list[Record], columns: Sequence[str] | None = None) -> pd.DataFrame:
    try:
        import pandas as pd  # noqa: PLC0415 - the optional notebook extra
    except ImportError:  # pragma: no cover - exercised in a subprocess without pandas
        raise ImportError(
            "this table needs pandas: pip install 'skillgauge[notebook]' (or use the "
            "*_records method, which returns plain dictionaries)"
        ) from None
    frame = pd.DataFrame.from_records(records, columns=None if columns is None else list(columns))
    return frame.dropna(axis=1, how="all") if columns is None else frame


def _groups(groups: object) -> ItemGroups | None:
    if groups is None or isinstance(groups, ItemGroups):
        return groups
    if isinstance(groups, str | Path):
        return read_item_groups(groups)
    if is_data_frame(groups):
        frame: Any = groups
        items = [str(i) for i in frame["item_id"]]
        competency = dict(zip(items, (str(c) for c in frame["competency"]), strict=True))
        models: dict[str, ModelName] = {}
        if "model" in frame.columns:
            for i, m in zip(items, frame["model"], strict=True):
                if isinstance(m, str) and m.strip():
                    models[i] = m.strip().lower()  # type: ignore[assignment]
        return ItemGroups(source="<groups DataFrame>", competency=competency, model=models)
    if isinstance(groups, Mapping):
        return ItemGroups(source="<groups>", competency={str(k): str(v) for k, v in groups.items()})
    raise TypeError("groups: give a mapping item -> competency, a DataFrame or a CSV path")


def fit(
    data: object,
    model: ModelName | Mapping[str, ModelName] = "2pl",
    *,
    method: Method = "mml",
    groups: object = None,
    se: SEMethod = "auto",
    quadpts: int = 61,
    theta_range: tuple[float, float] = (-6.0, 6.0),
    tol: float = 1e-4,
    max_em_steps: int = 3000,
    start: MirtValues | Mapping[str, IrtParameters] | str | Path | None = None,
    item_ids: Sequence[str] | None = None,
    source: str | None = None,
    person: str = "person_id",
    item: str = "item_id",
    response: str = "response",
) -> Calibration:
    """Calibrate item parameters from responses (no bank needed).

    Parameters
    ----------
    data
        A persons x items numpy array (NaN or negative: not administered), a wide or long
        pandas DataFrame (long: ``person``, ``item`` and ``response`` columns), a CSV path,
        or a :class:`~calibration.data.ResponseData`.
    model
        ``rasch``, ``1pl``, ``2pl``, ``3pl``, ``4pl``, ``grm``, ``gpcm`` or ``pcm``; or one
        per item (mirt's ``itemtype`` vector).
    method
        ``mml`` (marginal ML by EM, every model) or ``cml`` (conditional ML of the Rasch and
        partial credit models, as psychotools and eRm).
    groups
        Items to competencies (each is its own scale): a mapping, a DataFrame or CSV with
        ``item_id``, ``competency`` (and optionally ``model``) columns. Default: one scale.
    se
        ``auto``, ``oakes``, ``xpd``, ``sandwich`` or ``none`` (MML).
    quadpts, theta_range, tol, max_em_steps
        The EM settings (mirt's defaults: 61 nodes on [-6, 6], ``TOL = 1e-4``).
    start
        MML start values: a mod2values or coef() CSV from R (or its
        :func:`read_values`), or bank parameters per item.
    item_ids
        Column names of a numpy array (default ``item1, item2, ...``).

    Raises
    ------
    ResponseDataError
        With the row and column of bad input, or for empty data.
    ModelError, CalibrationError
        When the data do not fit the model or nothing can be estimated (every response the
        same, for instance).
    """
    responses = response_data(
        data, source=source, item_ids=item_ids, person=person, item=item, response=response
    )
    options = EMOptions(
        quadrature_points=quadpts, theta_range=theta_range, tol=tol, max_em_steps=max_em_steps
    )
    if isinstance(start, str | Path):
        start = read_parameter_table(start)
    result = calibrate_responses(
        responses,
        model=model,
        method=method,
        groups=_groups(groups),
        se=se,
        options=options,
        start=start.parameters if isinstance(start, MirtValues) else start,
    )
    return Calibration(result)


class Calibration:
    """A calibration's results as tables and figures (see the module documentation)."""

    def __init__(self, calibration: BankCalibration) -> None:
        self.calibration = calibration
        self.pool: ItemPool = compile_pool(calibration.bank)

    # ------------------------------------------------------------------ basics

    @property
    def bank(self) -> Bank:
        """The calibrated (skeleton) bank."""
        return self.calibration.bank

    @property
    def data(self) -> ResponseData:
        """The responses calibrated."""
        return self.calibration.data

    @property
    def scales(self) -> list[str]:
        """The scales (competencies), in order."""
        return [s.competency for s in self.calibration.scales]

    @property
    def warnings(self) -> list[str]:
        """What the calibration wants you to know (left-out items, convergence...)."""
        return [str(w) for w in self.calibration.warnings]

    def scale(self, name: str | None = None) -> ScaleCalibration:
        """One scale's calibration (the only one when ``name`` is omitted)."""
        scales = self.calibration.scales
        if name is None:
            if len(scales) != 1:
                raise CalibrationError(
                    f"there are {len(scales)} scales ({', '.join(self.scales)}); name one"
                )
            return scales[0]
        for s in scales:
            if s.competency == name:
                return s
        raise CalibrationError(f'no scale "{name}"; the scales are {", ".join(self.scales)}')

    def result(self, scale: str | None = None) -> FitResult:
        """The low-level :class:`~calibration.em.FitResult` of one scale."""
        return self.scale(scale).result

    def __repr__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        """A few lines per scale: persons, items, log-likelihood, AIC, BIC, reliability."""
        lines = [
            f"Calibration of {self.data.source}: {self.data.n_persons} persons, "
            f"{self.data.n_items} items; model {self.calibration.settings.get('model')} by "
            f"{self.calibration.settings.get('method', 'mml').upper()}"
        ]
        for s in self.calibration.scales:
            r = s.result
            rel = scale_reliability(s, self.pool)
            lines.append(
                f"  {s.competency}: N = {r.n_persons}, {len(r.item_ids)} items, "
                f"logLik {r.loglik:.3f}, AIC {r.aic:.2f}, BIC {r.bic:.2f}, "
                f"marginal rxx {rel.marginal:.3f}, empirical rxx {rel.empirical:.3f}"
                + ("" if r.converged else " (NOT converged)")
            )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    # ------------------------------------------------------------------ coef

    def coef_records(self, irt_pars: bool = True) -> list[Record]:
        """The rows of :meth:`coef` as dictionaries (no pandas needed)."""
        rows: list[Record] = []
        for s in self.calibration.scales:
            r = s.result
            fits = {f.item: f for f in s.item_fit}
            index = {item: i for i, item in enumerate(r.item_ids)}
            for item, status in s.status.items():
                row: Record = {"item": item, "scale": s.competency}
                i = index.get(item)
                if i is None or item not in self.pool.index:
                    row.update(model=None, status=status)
                    rows.append(row)
                    continue
                row["model"] = r.models[i]
                row.update(self._parameters(s, r, i, irt_pars))
                row["status"] = status
                row.update(_fit_record(fits.get(item)))
                rows.append(row)
        return rows

    def _parameters(self, s: ScaleCalibration, r: FitResult, i: int, irt_pars: bool) -> Record:
        params = self.bank.items[self._bank_index(r.item_ids[i])].irt
        model = r.models[i]
        out: Record = {}
        if irt_pars:
            se = params.se
            out["a"] = params.a
            if model in DICHOTOMOUS:
                out["b"] = getattr(params, "b", math.nan)
                out["g"] = getattr(params, "c", 0.0)
                out["u"] = getattr(params, "d", 1.0)
                out["se_a"] = None if se is None else se.a
                out["se_b"] = None if se is None else se.b
                out["se_g"] = None if se is None else se.c
                out["se_u"] = None if se is None else se.d
            else:
                thresholds = getattr(params, "thresholds", ())
                out["se_a"] = None if se is None else se.a
                for k, b in enumerate(thresholds, start=1):
                    out[f"b{k}"] = b
                    errors = None if se is None else se.thresholds
                    out[f"se_b{k}"] = None if errors is None else errors[k - 1]
            return out
        if s.linking is not None:
            raise CalibrationError("slope-intercept parameters are given for free calibrations")
        slope, intercepts = r.slope_intercept(i)
        internal = r.se_internal.get(r.item_ids[i])
        out["a1"] = slope
        if model in DICHOTOMOUS:
            out["d"] = intercepts[0]
            vector = r.irt_vector(i)
            out["g"], out["u"] = float(vector[2]), float(vector[3])
            out["se_a1"] = _finite(internal, 0)
            out["se_d"] = _finite(internal, 1)
        else:
            out["se_a1"] = _finite(internal, 0)
            for k, d in enumerate(intercepts, start=1):
                out[f"d{k}"] = d
                out[f"se_d{k}"] = _finite(internal, k) if model in {"gpcm", "pcm"} else None
        return out

    def _bank_index(self, item: str) -> int:
        return next(k for k, it in enumerate(self.bank.items) if it.id == item)

    def coef(self, irt_pars: bool = True) -> pd.DataFrame:
        """Item parameters, standard errors and fit, one row per item (a tidy DataFrame).

        Like R mirt's ``coef(mod, IRTpars = TRUE, simplify = TRUE)$items`` with SEs and
        ``itemfit()`` alongside: ``item, scale, model, a, b, g, u`` (dichotomous) or
        ``a, b1..bK`` (polytomous: graded thresholds or GPCM steps), ``se_*``, ``status``,
        ``n``, ``s_x2, df, p, rmsea, infit, outfit``. With ``irt_pars=False``, mirt's
        slope-intercept form: ``a1, d, g, u`` or ``a1, d1..dK``. Items that could not be
        estimated have a row with their status and no parameters.
        """
        return _frame(self.coef_records(irt_pars))

    # ------------------------------------------------------------------ persons

    def scores_records(self, method: ScoreMethod = "eap") -> list[Record]:
        """The rows of :meth:`scores` as dictionaries."""
        rows: list[Record] = []
        data = self.data
        for s in self.calibration.scales:
            ids = [i for i in s.status if i in self.pool.index]
            columns = np.array([data.item_ids.index(i) for i in ids], dtype=np.intp)
            items = np.array([self.pool.index[i] for i in ids], dtype=np.intp)
            mean, sd = population(s)
            grid = Grid.normal(mean - 8.0 * sd, mean + 8.0 * sd, 121, mean, sd)
            result = score(
                self.pool,
                items,
                np.ascontiguousarray(data.responses[:, columns]),
                method,
                grid=grid,
                start=mean,
            )
            answered = np.flatnonzero(result.n_responses > 0)
            rows.extend(
                {
                    "person_id": data.person_ids[p],
                    "scale": s.competency,
                    "method": method,
                    "theta": float(result.theta[p]),
                    "se": float(result.se[p]),
                    "n_items": int(result.n_responses[p]),
                }
                for p in answered.tolist()
            )
        return rows

    def scores(self, method: ScoreMethod = "eap") -> pd.DataFrame:
        """Person estimates with standard errors, like mirt's ``fscores(full.scores.SE=TRUE)``.

        ``eap`` (default; posterior mean and SD under the fitted population), ``map``,
        ``ml`` or ``wle`` (Warm). One row per person and scale they answered items of:
        ``person_id, scale, method, theta, se, n_items``.
        """
        return _frame(self.scores_records(method))

    # ------------------------------------------------------------------ fit, reliability

    def item_fit_records(self) -> list[Record]:
        """The rows of :meth:`item_fit` as dictionaries."""
        return [
            {"item": f.item, "scale": s.competency, **_fit_record(f)}
            for s in self.calibration.scales
            for f in s.item_fit
        ]

    def item_fit(self) -> pd.DataFrame:
        """Item fit (mirt's ``itemfit``): S-X2 with df, p and RMSEA; infit and outfit.

        S-X2 needs complete data; it is NaN otherwise (see :mod:`calibration.fit`).
        """
        return _frame(
            self.item_fit_records(),
            ["item", "scale", "n", "s_x2", "df", "p", "rmsea", "infit", "outfit"],
        )

    def model_fit_records(self) -> list[Record]:
        """The rows of :meth:`model_fit` as dictionaries."""
        out = []
        for s in self.calibration.scales:
            m = s.model_fit
            out.append(
                {
                    "scale": s.competency,
                    "n_persons": m.n_persons,
                    "n_parameters": m.n_parameters,
                    "loglik": m.loglik,
                    "aic": m.aic,
                    "bic": m.bic,
                    "m2": m.m2,
                    "m2_df": m.m2_df,
                    "m2_p": m.m2_p,
                    "rmsea": m.rmsea,
                    "srmsr": m.srmsr,
                    "g2": m.g2,
                    "g2_df": m.g2_df,
                    "g2_p": m.g2_p,
                    "converged": s.result.converged,
                    "notes": "; ".join(m.notes + ((s.fit_note,) if s.fit_note else ())),
                }
            )
        return out

    def model_fit(self) -> pd.DataFrame:
        """Overall fit per scale: logLik, AIC, BIC, M2 (df, p), RMSEA, SRMSR, G2."""
        return _frame(self.model_fit_records(), list(self.model_fit_records()[0]))

    def reliability_records(self) -> list[Record]:
        """The rows of :meth:`reliability` as dictionaries."""
        out = []
        for s in self.calibration.scales:
            rel = scale_reliability(s, self.pool)
            out.append(
                {
                    "scale": s.competency,
                    "marginal": rel.marginal,
                    "empirical": rel.empirical,
                    "mean": rel.mean,
                    "sd": rel.sd,
                    "n_persons": rel.n_persons,
                }
            )
        return out

    def reliability(self) -> pd.DataFrame:
        """Marginal and empirical reliability per scale, with their population.

        Marginal reliability is R mirt's ``marginal_rxx``; empirical reliability that of the
        EAP scores (``empirical_rxx``). See :mod:`calibration.reliability` for the formulas.
        """
        return _frame(self.reliability_records(), list(self.reliability_records()[0]))

    def information_records(
        self, theta: Sequence[float] | None = None, scale: str | None = None
    ) -> list[Record]:
        """The rows of :meth:`information` as dictionaries."""
        points = np.linspace(-4.0, 4.0, 81) if theta is None else np.asarray(theta, float)
        rows: list[Record] = []
        scales = self.calibration.scales if scale is None else [self.scale(scale)]
        for s in scales:
            items = np.array(
                [self.pool.index[i] for i in s.status if i in self.pool.index], dtype=np.intp
            )
            info = information_curve(self.pool, items, points)
            rows.extend(
                {
                    "scale": s.competency,
                    "theta": float(t),
                    "information": float(v),
                    "se": float(1.0 / math.sqrt(v)) if v > 0 else math.inf,
                }
                for t, v in zip(points, info, strict=True)
            )
        return rows

    def information(
        self, theta: Sequence[float] | None = None, scale: str | None = None
    ) -> pd.DataFrame:
        """The test information curve and the standard error of measurement per scale."""
        return _frame(
            self.information_records(theta, scale), ["scale", "theta", "information", "se"]
        )

    # ------------------------------------------------------------------ figures

    def plot_icc(self, item: str | None = None, scale: str | None = None) -> Figure:
        """Item characteristic curves: one item's, or all of a scale's items in one chart.

        One item: its probability of a correct answer (or expected score as a share of the
        maximum, with its category curves); all items: the expected score curves.
        """
        if item is not None:
            if item not in self.pool.index:
                raise CalibrationError(f'no calibrated item "{item}"')
            return Figure(curve_chart(self.pool, item), f"ICC {item}")
        s = self.scale(scale)
        ids = [i for i in s.status if i in self.pool.index]
        return Figure(curves_chart(self.pool, ids, s.competency), f"ICC {s.competency}")

    def plot_information(self, scale: str | None = None, se: bool = True) -> Figure:
        """The test information curve (and the standard error) of a scale."""
        s = self.scale(scale)
        ids = [i for i in s.status if i in self.pool.index]
        return Figure(
            information_chart(self.pool, ids, s.competency, se=se), f"information {s.competency}"
        )

    # ------------------------------------------------------------------ writing

    def mod2values(self, scale: str | None = None) -> pd.DataFrame:
        """R mirt's ``mod2values`` table of a scale (see :mod:`calibration.mirt_tables`)."""
        rows = mod2values_rows(self.result(scale))
        frame = _frame(rows, list(rows[0]))
        for column in ("parnum",):
            frame[column] = frame[column].astype(int)
        for column in ("value", "lbound", "ubound", "prior_1", "prior_2"):
            frame[column] = frame[column].astype(float)
        frame["est"] = frame["est"] == "TRUE"
        return frame

    def write_mod2values(self, path: str | Path, scale: str | None = None) -> None:
        """Write the ``mod2values`` CSV of a scale (read it in R with ``read.csv``)."""
        write_mod2values(self.result(scale), path)

    def write_bank(self, path: str | Path) -> None:
        """Write the calibrated skeleton bank (``.yaml`` or ``.json``)."""
        write_bank_file(self.bank, path)

    def write_parameters(self, path: str | Path) -> None:
        """Write the parameter CSV that ``skillgauge calibrate`` writes."""
        write_parameter_csv(parameter_rows(self.calibration), path)

    def write_report(self, path: str | Path) -> None:
        """Write the HTML report that ``skillgauge calibrate --report`` writes."""
        Path(path).write_text(render_report(self.calibration), encoding="utf-8")


def _fit_record(f: ItemFit | None) -> Record:
    """Item fit cells; S-X2, df, p and RMSEA only where S-X2 has degrees of freedom."""
    tested = f is not None and math.isfinite(f.s_x2) and f.df > 0
    return {
        "n": None if f is None else f.n,
        "s_x2": f.s_x2 if tested and f is not None else None,
        "df": f.df if tested and f is not None else None,
        "p": f.p_value if tested and f is not None else None,
        "rmsea": f.rmsea if tested and f is not None else None,
        "infit": None if f is None else f.infit,
        "outfit": None if f is None else f.outfit,
    }


def _finite(values: np.ndarray | None, k: int) -> float | None:
    if values is None or k >= values.size or not math.isfinite(float(values[k])):
        return None
    return float(values[k])


def read_values(path: str | Path, model: ModelName | None = None) -> MirtValues:
    """Bank parameters from a mirt ``mod2values`` CSV or a ``coef()`` CSV (R's or ours)."""
    return read_parameter_table(path, model)


__all__ = ["Calibration", "Figure", "fit", "read_values"]
