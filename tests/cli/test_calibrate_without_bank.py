"""``skillgauge calibrate`` from a response file alone, ``import-params``, and output paths."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibration.mirt_tables import read_mod2values
from item_banks import read_bank
from item_banks.model import OnePL, PartialCredit, TwoPL

GOLDEN = Path(__file__).parents[1] / "calibration" / "golden"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillgauge", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copy(GOLDEN / "verbal_aggression_dich.csv", tmp_path / "responses.csv")
    shutil.copy(GOLDEN / "verbal_aggression_poly.csv", tmp_path / "poly.csv")
    return tmp_path


def test_out_params_csv_writes_the_parameters_and_the_report_in_new_folders(
    workspace: Path,
) -> None:
    done = run(
        "calibrate",
        "responses.csv",
        "--model",
        "2pl",
        "--out",
        "out/a/params.csv",
        "--quiet",
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Calibrated responses.csv without a bank: model 2pl, 316 persons")
    table = rows(workspace / "out/a/params.csv")
    assert [r["item_id"] for r in table][:2] == ["S1WantCurse", "S1DoCurse"]
    assert all(r["status"] == "estimated" and r["model"] == "2pl" for r in table)
    assert all(float(r["se_a"]) > 0 for r in table)
    report = (workspace / "out/a/params.report.html").read_text(encoding="utf-8")
    assert "No bank was given" in report and "Marginal reliability" in report
    assert not (workspace / "out/a/params.yaml").exists()
    assert "Wrote out/a/params.csv, out/a/params.report.html" in done.stdout


def test_out_bank_yaml_writes_a_skeleton_that_bank_validate_accepts_with_warnings(
    workspace: Path,
) -> None:
    done = run(
        "calibrate",
        "poly.csv",
        "--model",
        "pcm",
        "--method",
        "cml",
        "--out",
        "new/bank.yaml",
        "--mod2values",
        "new/values.csv",
        "--no-report",
        "--quiet",
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    assert "by CML" in done.stdout
    assert "CML: conditional logLik -5177.782 (47 parameters, 310 persons" in done.stdout
    bank = read_bank(workspace / "new/bank.yaml")
    assert bank.version == "1" and len(bank.items) == 24
    assert all(isinstance(i.irt, PartialCredit) and i.irt.a == 1.0 for i in bank.items)
    assert bank.items[0].stem.startswith("Item S1WantCurse (to be written)")
    assert (workspace / "new/bank.params.csv").exists()
    assert not (workspace / "new/bank.report.html").exists()
    values = read_mod2values(workspace / "new/values.csv")
    assert set(values.models.values()) == {"pcm"}
    check = run("bank", "validate", "new/bank.yaml", cwd=workspace)
    assert check.returncode == 0, check.stdout
    lines = check.stdout.splitlines()
    assert ': ok: "Calibrated from poly.csv" version 1: 24 items' in lines[0]
    assert sum("stem: a placeholder" in line for line in lines) == 24
    assert all(line.startswith("warning: new/bank.yaml: item ") for line in lines[1:])
    # the skeleton scores persons at once
    scored = run(
        "score", "poly.csv", "--bank", "new/bank.yaml", "--out", "scores.csv", cwd=workspace
    )
    assert scored.returncode == 0, scored.stderr
    assert len(rows(workspace / "scores.csv")) == 316


def test_groups_file_makes_competencies_and_per_item_models(workspace: Path) -> None:
    items = rows(workspace / "responses.csv")[0].keys() - {"person_id"}
    with (workspace / "groups.csv").open("w", encoding="utf-8") as handle:
        handle.write("item_id,competency,model,competency_name\n")
        for item in sorted(items):
            want = "Want" in item
            handle.write(
                f"{item},{'want' if want else 'do'},{'rasch' if want else '2pl'},"
                f"{'Wanting to' if want else 'Doing'}\n"
            )
    done = run(
        "calibrate",
        "responses.csv",
        "--groups",
        "groups.csv",
        "--out",
        "bank.json",
        "--mod2values",
        "values.csv",
        "--quiet",
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    bank = read_bank(workspace / "bank.json")
    assert [(c.id, c.name) for c in bank.competencies] == [("want", "Wanting to"), ("do", "Doing")]
    models = {i.competency: type(i.irt) for i in bank.items}
    assert models == {"want": OnePL, "do": TwoPL}
    assert all(i.irt.a == 1.0 for i in bank.items if i.competency == "want")
    for name in ("values.want.csv", "values.do.csv"):
        assert (workspace / name).exists(), name
    assert (
        "Wrote bank.json, bank.params.csv, bank.report.html, values.want.csv, values.do.csv"
        in done.stdout
    )


def test_items_that_cannot_be_estimated_stay_out_of_the_skeleton(workspace: Path) -> None:
    table = rows(workspace / "responses.csv")
    with (workspace / "degenerate.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*table[0], "easy"])
        writer.writeheader()
        writer.writerows({**row, "easy": "1"} for row in table)
    done = run("calibrate", "degenerate.csv", "--out", "bank.yaml", "--quiet", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert 'item "easy": [scale] every one of its 316 responses is 1' in done.stdout
    assert "easy" not in {i.id for i in read_bank(workspace / "bank.yaml").items}
    easy = next(r for r in rows(workspace / "bank.params.csv") if r["item_id"] == "easy")
    assert easy["status"].startswith("not estimated: every one of its 316 responses is 1")
    assert easy["a"] == "" and easy["model"] == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "bank"), "--model bank needs --bank"),
        (("--fixed",), "--fixed needs --bank"),
        (("--groups", "missing.csv"), "missing.csv: cannot read the file"),
        (("--start-values", "nothing.csv"), "nothing.csv: cannot read the file"),
        (("--method", "cml"), "CML needs one model for all items, rasch or pcm; got 2pl"),
        (
            ("--out", "params.txt"),
            "--out params.txt: give a bank file (.yaml, .json) or a parameter CSV",
        ),
    ],
)
def test_refusals_are_one_located_line(
    workspace: Path, args: tuple[str, ...], message: str
) -> None:
    out = () if "--out" in args else ("--out", "p.csv")
    done = run("calibrate", "responses.csv", *out, *args, "--quiet", cwd=workspace)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_groups_and_item_ids_are_located(workspace: Path) -> None:
    (workspace / "groups.csv").write_text(
        "item_id,competency,model\nS1WantCurse,want,2pl\nS1DoCurse,bad id,2pl\nS1DoScold,x,3plus\n"
        "S1WantCurse,want,2pl\n",
        encoding="utf-8",
    )
    done = run(
        "calibrate", "responses.csv", "--groups", "groups.csv", "--out", "p.csv", cwd=workspace
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'groups.csv: line 3: column competency: "bad id" is not a bank identifier (letters, '
        "digits and _ . : -, starting with a letter or digit)",
        'groups.csv: line 4: column model: "3plus" is not a model; choose one of rasch, 1pl, '
        "2pl, 3pl, 4pl, grm, gpcm, pcm",
        'groups.csv: line 5: column item_id: item "S1WantCurse" is listed twice (first on line 2)',
    ]
    (workspace / "spaces.csv").write_text(
        "person_id,Item 1,q2,q3\np1,1,0,1\np2,0,1,1\n", encoding="utf-8"
    )
    done = run("calibrate", "spaces.csv", "--out", "p.csv", cwd=workspace)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'spaces.csv: item id "Item 1" is not a bank identifier (letters, digits and _ . : -, '
        "starting with a letter or digit)"
    )


def test_unwritable_output_is_one_located_line_and_nothing_is_computed(workspace: Path) -> None:
    (workspace / "a-file").write_text("not a folder", encoding="utf-8")
    done = run("calibrate", "responses.csv", "--out", "a-file/sub/params.csv", cwd=workspace)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == "skillgauge calibrate: cannot write a-file/sub/params.csv: Not a directory"
    )
    assert done.stdout == ""  # refused before calibrating
    (workspace / "folder.csv").mkdir()
    done = run("calibrate", "responses.csv", "--out", "folder.csv", cwd=workspace)
    assert done.stderr.strip() == "skillgauge calibrate: cannot write folder.csv: it is a folder"


def test_with_a_bank_the_out_folder_is_created_too(workspace: Path) -> None:
    assert (
        run(
            "calibrate", "responses.csv", "--out", "b/bank.yaml", "--quiet", cwd=workspace
        ).returncode
        == 0
    )
    done = run(
        "calibrate",
        "responses.csv",
        "--bank",
        "b/bank.yaml",
        "--out",
        "deeper/new/bank.v2.yaml",
        "--report",
        "reports/r.html",
        "--quiet",
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    assert read_bank(workspace / "deeper/new/bank.v2.yaml").version == "2"
    assert (workspace / "reports/r.html").exists()
    assert (workspace / "deeper/new/bank.v2.params.csv").exists()
    done = run(
        "calibrate", "responses.csv", "--bank", "b/bank.yaml", "--out", "x.csv", cwd=workspace
    )
    assert done.returncode == 1 and "with --bank, --out is the new bank version" in done.stderr


R_COEF = """\
"","a","b","g","u"
"S1WantCurse",1.1,-1.2,0,1
"S1DoCurse",0.9,-0.8,0,1
"""


def test_import_params_from_rs_coef_into_a_bank_or_a_skeleton(workspace: Path) -> None:
    (workspace / "coef.csv").write_text(R_COEF, encoding="utf-8")
    done = run("import-params", "coef.csv", "--out", "imported.yaml", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "Imported 2 items (2pl 2) from coef.csv; wrote imported.yaml (version 1)"
    )
    skeleton = read_bank(workspace / "imported.yaml")
    assert [i.irt for i in skeleton.items] == [TwoPL(a=1.1, b=-1.2), TwoPL(a=0.9, b=-0.8)]
    # into an existing bank: only the listed items change, the version is bumped
    assert (
        run("calibrate", "responses.csv", "--out", "base.yaml", "--quiet", cwd=workspace).returncode
        == 0
    )
    done = run(
        "import-params", "coef.csv", "--bank", "base.yaml", "--out", "next.yaml", cwd=workspace
    )
    assert done.returncode == 0, done.stderr
    before, after = read_bank(workspace / "base.yaml"), read_bank(workspace / "next.yaml")
    assert after.version == "2"
    changed = [i.id for i, j in zip(before.items, after.items, strict=True) if i.irt != j.irt]
    assert changed == ["S1WantCurse", "S1DoCurse"]
    (workspace / "unknown.csv").write_text(R_COEF + '"ghost",1,0,0,1\n', encoding="utf-8")
    done = run(
        "import-params", "unknown.csv", "--bank", "base.yaml", "--out", "n.yaml", cwd=workspace
    )
    assert done.returncode == 1
    assert done.stderr.strip() == 'unknown.csv: line 4: item "ghost" is not in bank "responses"'
    # mod2values from calibrate --mod2values round-trips into a bank
    assert (
        run(
            "calibrate",
            "responses.csv",
            "--model",
            "rasch",
            "--out",
            "r.csv",
            "--mod2values",
            "v.csv",
            "--no-report",
            "--quiet",
            cwd=workspace,
        ).returncode
        == 0
    )
    done = run("import-params", "v.csv", "--out", "from-values.yaml", cwd=workspace)
    assert done.returncode == 0, done.stderr
    params = {r["item_id"]: float(r["b"]) for r in rows(workspace / "r.csv")}
    imported: dict[str, float] = {}
    for item in read_bank(workspace / "from-values.yaml").items:
        assert isinstance(item.irt, OnePL) and item.irt.a == 1.0
        imported[item.id] = item.irt.b
    np.testing.assert_allclose(
        np.array([imported[i] for i in params]), np.array(list(params.values())), atol=1e-5
    )
