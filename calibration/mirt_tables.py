"""Interchange with R mirt: its ``mod2values`` table and its ``coef()`` output, as CSV.

``mod2values(mod)`` is mirt's table of every parameter of a fitted model, one row each
(``group, item, class, name, parnum, value, lbound, ubound, est, const, nconst, prior.type,
prior_1, prior_2``); mirt takes the same table back as ``pars =`` to refit from those values
or to hold some fixed, after checking that its ``group, class, name, parnum`` columns and
column types are those of ``pars = 'values'``. :func:`write_mod2values` writes a calibration
in that form (parameters numbered item by item, then ``MEAN_1`` and ``COV_11``), so that it
can be checked or continued in R. mirt reads the item types from the table's ``itemtype``
attribute (``mirt()`` replaces its ``itemtype`` argument by it), which a CSV cannot hold::

    values <- read.csv("values.csv", stringsAsFactors = FALSE)
    attr(values, "itemtype") <- rep("2PL", ncol(data))
    mod <- mirt(data, 1, pars = values)

and :func:`read_mod2values` reads a table written from R
(``write.csv(mod2values(mod), "values.csv", row.names = FALSE)``) as bank parameters.
Parameters are mirt's slope-intercept ones (``a1``, ``d``; ``g`` and ``u`` as
probabilities, as mod2values prints them); classes ``dich`` (Rasch, 1PL-4PL), ``graded``
and ``gpcm`` (GPCM, and the partial credit model with ``a1`` fixed at 1) are understood.

:func:`read_coef_table` reads ``coef(mod, IRTpars = TRUE, simplify = TRUE)$items`` written
with ``write.csv`` (item names in the first column; ``a, b, g, u`` or ``a, b1..bK``), or
without ``IRTpars`` (``a1, d, g, u``; ``a1, d1..dK``; ``a1, ak0.., d0..``), or the
``coef()`` table of :mod:`calibration.api` (which has a ``model`` column). ``b1..bK`` alone do
not say whether they are graded thresholds or GPCM steps, so such items need ``model``.

Every problem is reported with the file, line and column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import expit

from calibration.bank_update import within_bank_limits, write_atomically
from calibration.em import FitResult
from calibration.errors import DataProblem, ResponseDataError
from calibration.models import DICHOTOMOUS, ModelName
from item_banks.model import (
    FourPL,
    Graded,
    IrtParameters,
    OnePL,
    PartialCredit,
    ThreePL,
    TwoPL,
)

MOD2VALUES_COLUMNS = (
    "group",
    "item",
    "class",
    "name",
    "parnum",
    "value",
    "lbound",
    "ubound",
    "est",
    "const",
    "nconst",
    "prior.type",
    "prior_1",
    "prior_2",
)


class ParameterTableError(ResponseDataError):
    """A parameter table (mod2values, coef) cannot be used; ``problems`` locates each."""


@dataclass(frozen=True)
class MirtValues:
    """Bank parameters read from a mirt table, with each item's model and its first line."""

    source: str
    parameters: dict[str, IrtParameters]
    models: dict[str, ModelName]
    lines: dict[str, int]
    mean: float = 0.0
    variance: float = 1.0
    estimated: dict[str, tuple[str, ...]] = field(default_factory=dict)


# --------------------------------------------------------------------------- writing


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value))


def mod2values_rows(result: FitResult) -> list[dict[str, str]]:
    """The rows of mirt's ``mod2values`` table for one calibrated scale."""
    rows: list[dict[str, str]] = []
    cal = result.model
    priors = cal.families[0].priors if cal.families else None

    def add(item: str, cls: str, name: str, value: float, est: bool, **extra: object) -> None:
        row = {
            "group": "all",
            "item": item,
            "class": cls,
            "name": name,
            "parnum": str(len(rows) + 1),
            "value": _number(value),
            "lbound": _number(float(extra.get("lbound", -math.inf))),  # type: ignore[arg-type]
            "ubound": _number(float(extra.get("ubound", math.inf))),  # type: ignore[arg-type]
            "est": "TRUE" if est else "FALSE",
            "const": str(extra.get("const", "none")),
            "nconst": "none",
            "prior.type": str(extra.get("prior", "none")),
            "prior_1": _number(float(extra.get("p1", math.nan))),  # type: ignore[arg-type]
            "prior_2": _number(float(extra.get("p2", math.nan))),  # type: ignore[arg-type]
        }
        rows.append(row)

    for i, item in enumerate(result.item_ids):
        fam = result.family(i)
        f, row = result.family_of[i]
        x = cal.xi[f][row]
        est = bool(cal.estimate[f][row])
        slope, intercepts = result.slope_intercept(i)
        model = fam.model
        free = fam.free
        if model in DICHOTOMOUS:
            lnorm = priors is not None and priors.log_a is not None and free[0] and est
            add(
                item,
                "dich",
                "a1",
                slope,
                est and bool(free[0]),
                const="1" if model == "1pl" else "none",
                prior="lnorm" if lnorm else "none",
                p1=priors.log_a.mean if lnorm and priors and priors.log_a else math.nan,
                p2=priors.log_a.sd if lnorm and priors and priors.log_a else math.nan,
            )
            add(item, "dich", "d", intercepts[0], est)
            for name, col, prior in (
                ("g", 2, None if priors is None else priors.c),
                ("u", 3, None if priors is None else priors.u),
            ):
                value = float(expit(x[col])) if free[col] else (0.0 if name == "g" else 1.0)
                on = est and bool(free[col])
                add(
                    item,
                    "dich",
                    name,
                    value,
                    on,
                    lbound=0.0,
                    ubound=1.0,
                    prior="expbeta" if on and prior is not None else "none",
                    p1=prior.alpha if on and prior is not None else math.nan,
                    p2=prior.beta if on and prior is not None else math.nan,
                )
        elif model == "grm":
            add(item, "graded", "a1", slope, est)
            for k, d in enumerate(intercepts, start=1):
                add(item, "graded", f"d{k}", d, est)
        else:
            top = len(intercepts)
            add(item, "gpcm", "a1", slope, est and model == "gpcm")
            for k in range(top + 1):
                add(item, "gpcm", f"ak{k}", float(k), False)
            add(item, "gpcm", "d0", 0.0, False)
            for k, d in enumerate(intercepts, start=1):
                add(item, "gpcm", f"d{k}", d, est)
    add("GROUP", "GroupPars", "MEAN_1", result.latent_mean, cal.estimate_mean)
    add(
        "GROUP",
        "GroupPars",
        "COV_11",
        result.latent_sd**2,
        cal.estimate_sd,
        lbound=1e-4,
    )
    return rows


def write_mod2values(result: FitResult, path: str | Path) -> None:
    """Write the ``mod2values`` table of one scale as CSV (atomically)."""
    lines: list[str] = []

    class _Sink:
        def write(self, text: str) -> int:
            lines.append(text)
            return len(text)

    writer = csv.DictWriter(_Sink(), fieldnames=MOD2VALUES_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(mod2values_rows(result))
    write_atomically("".join(lines).encode("utf-8"), path)


# --------------------------------------------------------------------------- reading


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ParameterTableError(
            [DataProblem(source=source, message=f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ParameterTableError([DataProblem(source=source, message="not UTF-8 text")]) from None
    reader = csv.reader(text.splitlines())
    rows = [(n, row) for n, row in enumerate(reader, start=1) if any(c.strip() for c in row)]
    if not rows:
        raise ParameterTableError([DataProblem(source=source, message="the file is empty")])
    header = [c.strip() for c in rows[0][1]]
    return header, rows[1:]


def _float(text: str) -> float | None:
    value = text.strip()
    if value.upper() in {"", "NA"}:
        return None
    special = {"NAN": math.nan, "INF": math.inf, "-INF": -math.inf}
    if value.upper() in special:
        return special[value.upper()]
    try:
        return float(value)
    except ValueError:
        return None


def _bool(text: str) -> bool | None:
    return {"TRUE": True, "FALSE": False, "T": True, "F": False}.get(text.strip().upper())


def _finish(
    source: str,
    item: str,
    line: int,
    params: IrtParameters,
    problems: list[DataProblem],
) -> bool:
    why = within_bank_limits(params)
    if why is not None:
        problems.append(DataProblem(source=source, line=line, message=f'item "{item}": {why}'))
        return False
    return True


def _dichotomous(
    slope: float, d: float, g: float, u: float, *, rasch: bool, shared: bool
) -> tuple[ModelName, IrtParameters]:
    b = -d / slope if slope != 0 else math.inf
    if u < 1.0:
        return "4pl", FourPL(a=slope, b=b, c=g, d=u)
    if g > 0.0:
        return "3pl", ThreePL(a=slope, b=b, c=g)
    if rasch:
        return "rasch", OnePL(b=b)
    if shared:
        return "1pl", OnePL(a=slope, b=b)
    return "2pl", TwoPL(a=slope, b=b)


def _polytomous(
    cls: str, slope: float, intercepts: list[float], *, fixed_slope: bool
) -> tuple[ModelName, IrtParameters]:
    d = np.asarray(intercepts)
    if cls == "graded":
        return "grm", Graded(a=slope, thresholds=tuple(float(x) for x in -d / slope))
    steps = -np.diff(np.concatenate(([0.0], d))) / slope
    return ("pcm" if fixed_slope else "gpcm"), PartialCredit(
        a=slope, thresholds=tuple(float(x) for x in steps)
    )


def read_mod2values(path: str | Path) -> MirtValues:
    """Read a mirt ``mod2values`` CSV as bank parameters (see the module documentation).

    Raises
    ------
    ParameterTableError
        With each problem located: missing columns, unknown classes, several groups or
        factors, values that are not numbers, parameters outside the bank's ranges.
    """
    path = Path(path)
    source = str(path)
    header, rows = _read_rows(path)
    need = ("item", "class", "name", "value")
    absent = [c for c in need if c not in header]
    if absent:
        raise ParameterTableError(
            [
                DataProblem(
                    source=source,
                    line=1,
                    message="not a mod2values table: the header needs the columns "
                    f"{', '.join(need)}; missing {', '.join(absent)}",
                )
            ]
        )
    col = {name: k for k, name in enumerate(header)}
    problems: list[DataProblem] = []
    per_item: dict[str, dict[str, tuple[float, bool, str, int]]] = {}
    classes: dict[str, str] = {}
    groups: set[str] = set()
    mean, variance = 0.0, 1.0
    for line, row in rows:
        if len(row) != len(header):
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    message=f"expected {len(header)} fields, found {len(row)}",
                )
            )
            continue
        item, cls, name = (
            row[col["item"]].strip(),
            row[col["class"]].strip(),
            row[col["name"]].strip(),
        )
        if "group" in col:
            groups.add(row[col["group"]].strip())
        value = _float(row[col["value"]])
        if value is None:
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    column="value",
                    message=f"{row[col['value']]!r} is not a number",
                )
            )
            continue
        est = _bool(row[col["est"]]) if "est" in col else None
        const = row[col["const"]].strip() if "const" in col else "none"
        if cls == "GroupPars":
            if name == "MEAN_1":
                mean = value
            elif name == "COV_11":
                variance = value
            else:
                problems.append(
                    DataProblem(
                        source=source,
                        line=line,
                        column="name",
                        message=f'"{name}": only unidimensional models (MEAN_1, COV_11) are '
                        "supported",
                    )
                )
            continue
        if cls not in ("dich", "graded", "gpcm"):
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    column="class",
                    message=f'item "{item}": class "{cls}" is not supported (dich, graded, gpcm)',
                )
            )
            continue
        if name.startswith("a") and not name.startswith("ak") and name != "a1":
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    column="name",
                    message=f'item "{item}": "{name}": only unidimensional models are supported',
                )
            )
            continue
        classes.setdefault(item, cls)
        per_item.setdefault(item, {})[name] = (value, bool(est), const, line)
    if len(groups) > 1:
        problems.append(
            DataProblem(
                source=source,
                message=f"{len(groups)} groups ({', '.join(sorted(groups))}): multiple-group "
                "tables are not supported",
            )
        )
    parameters: dict[str, IrtParameters] = {}
    models: dict[str, ModelName] = {}
    lines: dict[str, int] = {}
    estimated: dict[str, tuple[str, ...]] = {}
    for item, values in per_item.items():
        line = min(v[3] for v in values.values())
        cls = classes[item]
        missing = [n for n in ("a1",) + (("d",) if cls == "dich" else ()) if n not in values]
        if missing:
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    message=f'item "{item}": no {", ".join(missing)} row',
                )
            )
            continue
        slope, slope_est, slope_const, _ = values["a1"]
        if cls == "dich":
            g = values.get("g", (0.0, False, "none", line))[0]
            u = values.get("u", (1.0, False, "none", line))[0]
            model, params = _dichotomous(
                slope,
                values["d"][0],
                g,
                u,
                rasch=slope == 1.0 and not slope_est,
                shared=slope_const != "none",
            )
        else:
            if cls == "gpcm":
                for name, (value, _, _, where) in values.items():
                    if name.startswith("ak") and value != float(name[2:]):
                        problems.append(
                            DataProblem(
                                source=source,
                                line=where,
                                column="value",
                                message=f'item "{item}": {name} = {value:g}: only the partial '
                                "credit scoring ak_k = k is supported (not a nominal model)",
                            )
                        )
            keys = sorted(
                (int(n[1:]), v[0])
                for n, v in values.items()
                if n.startswith("d") and n[1:].isdigit() and int(n[1:]) > 0
            )
            if not keys:
                problems.append(
                    DataProblem(source=source, line=line, message=f'item "{item}": no d1.. rows')
                )
                continue
            model, params = _polytomous(
                cls, slope, [v for _, v in keys], fixed_slope=slope == 1.0 and not slope_est
            )
            if isinstance(params, Graded) and any(
                a >= b for a, b in zip(params.thresholds, params.thresholds[1:], strict=False)
            ):
                problems.append(
                    DataProblem(
                        source=source,
                        line=line,
                        message=f'item "{item}": graded intercepts d1..dK must decrease',
                    )
                )
                continue
        if _finish(source, item, line, params, problems):
            parameters[item] = params
            models[item] = model
            lines[item] = line
            estimated[item] = tuple(n for n, v in values.items() if v[1])
    if problems:
        raise ParameterTableError(problems[:50])
    if not parameters:
        raise ParameterTableError([DataProblem(source=source, message="no item rows")])
    return MirtValues(source, parameters, models, lines, mean, variance, estimated)


def read_coef_table(
    path: str | Path, models: Mapping[str, ModelName] | ModelName | None = None
) -> MirtValues:
    """Read a ``coef()`` table (R mirt's or :mod:`calibration.api`'s) as bank parameters.

    Parameters
    ----------
    models
        The model of items whose columns do not say it (``b1..bK``: ``grm`` or ``gpcm``),
        one for all or one per item.

    Raises
    ------
    ParameterTableError
        With each problem located by line and column.
    """
    path = Path(path)
    source = str(path)
    header, rows = _read_rows(path)
    names = [h.strip() for h in header]
    lower = [h.lower() for h in names]
    parameter_names = {"a", "a1", "b", "d", "g", "u", "model"}
    if "item" in lower:
        first = lower.index("item")
    elif lower and lower[0] not in parameter_names and not lower[0].startswith(("b", "d", "ak")):
        first = 0  # R's row names: an empty (or "X") header
    else:
        raise ParameterTableError(
            [DataProblem(source=source, line=1, message="no column of item names")]
        )
    col = {name: k for k, name in enumerate(lower)}
    problems: list[DataProblem] = []
    parameters: dict[str, IrtParameters] = {}
    chosen: dict[str, ModelName] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        if len(row) != len(names):
            problems.append(
                DataProblem(
                    source=source,
                    line=line,
                    message=f"expected {len(names)} fields, found {len(row)}",
                )
            )
            continue
        item = row[first].strip()
        cells: dict[str, float] = {}
        for name, k in col.items():
            if k == first or name in ("model", "scale", "competency") or name.startswith("se_"):
                continue
            text = row[k]
            value = _float(text)
            if value is None and text.strip().upper() not in ("", "NA"):
                if name in ("a", "a1", "b", "d", "g", "u") or name[:1] in "bd":
                    problems.append(
                        DataProblem(
                            source=source,
                            line=line,
                            column=names[k],
                            message=f"{text!r} is not a number",
                        )
                    )
                continue
            if value is not None and math.isfinite(value):
                cells[name] = value
        stated = row[col["model"]].strip().lower() if "model" in col else ""
        wanted = (models.get(item) if isinstance(models, Mapping) else models) or stated or None
        try:
            model, params = _from_coef(cells, wanted)
        except ValueError as exc:
            problems.append(DataProblem(source=source, line=line, message=f'item "{item}": {exc}'))
            continue
        if _finish(source, item, line, params, problems):
            parameters[item] = params
            chosen[item] = model
            lines[item] = line
    if problems:
        raise ParameterTableError(problems[:50])
    if not parameters:
        raise ParameterTableError([DataProblem(source=source, message="no item rows")])
    return MirtValues(source, parameters, chosen, lines)


def _from_coef(cells: dict[str, float], model: str | None) -> tuple[ModelName, IrtParameters]:
    """One item's parameters from the non-empty cells of its coef() row."""
    steps = sorted((int(n[1:]), v) for n, v in cells.items() if n[:1] == "b" and n[1:].isdigit())
    intercepts = sorted(
        (int(n[1:]), v) for n, v in cells.items() if n[:1] == "d" and n[1:].isdigit()
    )
    g, u = cells.get("g", 0.0), cells.get("u", 1.0)
    if "a" in cells and "b" in cells:  # IRT parameterisation, dichotomous
        a, b = cells["a"], cells["b"]
        if model == "rasch" or (model is None and a == 1.0 and g == 0.0 and u == 1.0):
            return "rasch", OnePL(b=b)
        return _dichotomous(a, -a * b, g, u, rasch=False, shared=model == "1pl")
    if "a1" in cells and "d" in cells:  # slope-intercept, dichotomous
        return _dichotomous(
            cells["a1"], cells["d"], g, u, rasch=model == "rasch", shared=model == "1pl"
        )
    if "a" in cells and steps:
        if model not in ("grm", "gpcm", "pcm"):
            raise ValueError(
                "b1..bK do not say whether they are graded thresholds or GPCM steps; give the "
                "model (grm, gpcm or pcm)"
            )
        thresholds = tuple(v for _, v in steps)
        if model == "grm":
            return "grm", Graded(a=cells["a"], thresholds=thresholds)
        return ("pcm" if model == "pcm" else "gpcm"), PartialCredit(
            a=cells["a"], thresholds=thresholds
        )
    if "a1" in cells and intercepts:
        values = [v for k, v in intercepts if k > 0]
        gpcm = any(n.startswith("ak") for n in cells) or model in ("gpcm", "pcm")
        return _polytomous(
            "gpcm" if gpcm else "graded", cells["a1"], values, fixed_slope=model == "pcm"
        )
    raise ValueError("no a/b, a1/d, a/b1.. or a1/d1.. values")


def read_parameter_table(
    path: str | Path, models: Mapping[str, ModelName] | ModelName | None = None
) -> MirtValues:
    """Read a ``mod2values`` table or a ``coef()`` table, whichever the header shows."""
    header, _ = _read_rows(Path(path))
    if {"class", "name", "value"} <= set(header):
        return read_mod2values(path)
    return read_coef_table(path, models)
