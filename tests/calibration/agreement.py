"""The agreement table of README.md: our CML and MML against the R goldens, max |difference|.

Run: ``python -m tests.calibration.agreement`` (prints a Markdown table; R is not needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from calibration.cml import cml
from calibration.data import read_wide
from calibration.em import EMOptions, calibrate
from calibration.standard_errors import attach_standard_errors

GOLDEN = Path(__file__).parent / "golden"
CML_SETS = [
    ("VerbalAggression dichotomous", "verbal_aggression_dich", "rasch"),
    ("MathExam14W solved", "mathexam14w_solved", "rasch"),
    ("VerbalAggression polytomous", "verbal_aggression_poly", "pcm"),
    ("VerbalAggression polytomous, 8 % missing", "verbal_aggression_poly_na", "pcm"),
    ("MathExam14W credits", "mathexam14w_credits", "pcm"),
]


def rows() -> list[tuple[str, ...]]:
    goldens = json.loads((GOLDEN / "goldens.json").read_text(encoding="utf-8"))
    out: list[tuple[str, ...]] = []
    for label, name, model in CML_SETS:
        data = read_wide(GOLDEN / f"{name}.csv")
        result = cml(data, "rasch" if model == "rasch" else "pcm")
        pt, erm = goldens[name]["psychotools"], goldens[name]["eRm"]
        first, _ = result.estimates("first", thresholds=False)
        mean, mean_cov = result.estimates("mean")
        key = "difficulty" if model == "rasch" else "threshold"
        expected = np.asarray(pt[key if model == "rasch" else "thresholds"], float)
        mean_se = np.sqrt(np.diag(mean_cov))
        total, total_cov = result.estimates("sum", thresholds=False)
        out.append(
            (
                f"{label} ({'Rasch' if model == 'rasch' else 'PCM'}, CML)",
                "psychotools " + ("raschmodel" if model == "rasch" else "pcmodel"),
                f"{np.abs(mean - expected.ravel()).max():.1e}",
                f"{np.abs(mean_se - pt[key + '_se']).max():.1e}",
                f"{np.abs(first[1:] - pt['coef']).max():.1e}",
                f"{abs(result.loglik - pt['loglik']):.1e}",
            )
        )
        out.append(
            (
                "",
                "eRm " + ("RM" if model == "rasch" else "PCM"),
                f"{np.abs(-total - erm['betapar']).max():.1e}",
                f"{np.abs(np.sqrt(np.diag(total_cov)) - erm['se_beta']).max():.1e}",
                "",
                f"{abs(result.loglik - erm['loglik']):.1e}",
            )
        )
    for label, name in (
        ("VerbalAggression dichotomous", "verbal_aggression_dich"),
        ("MathExam14W solved", "mathexam14w_solved"),
    ):
        data = read_wide(GOLDEN / f"{name}.csv")
        golden = goldens[name]["glmer"]
        for grid, options in (
            (
                "121 nodes on [-8, 8]",
                EMOptions(tol=1e-8, quadrature_points=121, theta_range=(-8.0, 8.0)),
            ),
            ("mirt's 61 on [-6, 6]", EMOptions(tol=1e-8)),
        ):
            fit = calibrate(data, "rasch", options=options)
            attach_standard_errors(fit, "oakes")
            b = np.array([fit.irt_vector(i)[1] for i in range(data.n_items)])
            se = np.array([fit.standard_errors[i][1] for i in data.item_ids])
            out.append(
                (
                    f"{label} (Rasch, MML, {grid})",
                    "lme4 glmer, nAGQ = 25",
                    f"{np.abs(b - golden['difficulty']).max():.1e}",
                    f"{np.abs(se - golden['difficulty_se']).max():.1e}",
                    f"SD {abs(fit.latent_sd - golden['sigma']):.1e}",
                    f"{abs(fit.loglik - golden['loglik']):.1e}",
                )
            )
    return out


def main() -> None:
    header = (
        "data, model",
        "reference",
        "b / thresholds",
        "their SEs",
        "coef (1st item 0) / population SD",
        "logLik",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows():
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
