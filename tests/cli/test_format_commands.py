"""``skillgauge bank convert`` and ``bank diff`` run as a user runs them (a subprocess).

Every format converts to native YAML and to a QTI package and back; ``--from``/``--to``
override detection; unsafe or invalid input exits 1 with located lines and no traceback;
``bank diff`` prints exactly the lines asserted here; ``--params`` merges a CSV of IRT
parameters as a new version, and its errors name file, line and column.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import msgspec
import pytest
import yaml

from item_banks.formats.qti3_export import export_bank
from item_banks.formats.registry import read_any
from item_banks.model import Bank, ThreePL, TwoPL
from item_banks.native import decode_bank, read_bank
from tests.cli.test_cli import run
from tests.conftest import SAMPLE_BANK
from tests.item_banks.formats.test_qti_round_trip import _strip_item
from tests.item_banks.helpers import raw_bank

DATA = Path(__file__).parent.parent / "item_banks" / "formats" / "data"
CSV_ITEMS = (
    "id,stem,key,option_a,rationale_a,option_b,rationale_b,competency\n"
    "q1,2+2?,a,4,Right,5,Off by one,Arithmetic\n"
    "q2,3+3?,b,5,Too small,6,Right,Arithmetic\n"
)


def run_together(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run independent ``skillgauge`` commands at the same time (two cores)."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "skillgauge", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _package(tmp_path: Path) -> Path:
    path = tmp_path / "demo.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted((DATA / "package").rglob("*")):
            if member.is_file():
                archive.write(member, member.relative_to(DATA / "package").as_posix())
    return path


def _input(kind: str, tmp_path: Path) -> Path:
    if kind == "package":
        return _package(tmp_path)
    if kind == "csv":
        path = tmp_path / "mc.csv"
        path.write_text(CSV_ITEMS)
        return path
    if kind == "json":
        path = tmp_path / "bank.json"
        path.write_text(json.dumps(raw_bank(3)))
        return path
    return {
        "qti3": DATA / "qti3" / "choice-modal-feedback.xml",
        "qti2": DATA / "qti2" / "choice-21.xml",
        "gift": DATA / "gift" / "quiz.gift",
        "moodle": DATA / "moodle" / "quiz.xml",
        "yaml": SAMPLE_BANK,
    }[kind]


def _carried(bank: Bank) -> Bank:
    """The bank as a QTI package carries it (see test_qti_round_trip)."""
    return msgspec.structs.replace(
        bank,
        description="",
        notes="",
        misconceptions=(),
        competencies=tuple(
            msgspec.structs.replace(c, description="", cut_score=None, levels=(), resources=())
            for c in bank.competencies
        ),
        items=tuple(_strip_item(item) for item in bank.items),
    )


@pytest.mark.parametrize(
    "kind", ["qti3", "qti2", "package", "gift", "moodle", "csv", "json", "yaml"]
)
def test_convert_every_format_to_yaml_and_to_qti_and_back(kind: str, tmp_path: Path) -> None:
    source = _input(kind, tmp_path)
    expected = read_any(source)
    native, package, back = tmp_path / "out.yaml", tmp_path / "out.zip", tmp_path / "back.yaml"
    to_native, to_package = run_together(
        ["bank", "convert", str(source), str(native)],
        ["bank", "convert", str(source), str(package)],
    )

    assert to_native.returncode == 0, to_native.stderr
    assert read_bank(native) == expected.bank
    assert to_native.stdout.splitlines() == [
        *(str(p) for p in expected.skipped),
        *(f"warning: {p}" for p in expected.warnings),
        f"{native}: wrote {len(expected.bank.items)} items ({len(expected.skipped)} skipped)",
    ]

    assert to_package.returncode == 0, to_package.stderr
    _, notes = export_bank(expected.bank, str(package))
    printed = [line for line in to_package.stdout.splitlines() if "not carried" in line]
    assert printed == [str(note) for note in notes]
    if kind == "yaml":  # the sample bank: every text, code block and list survives
        assert printed[:3] == [
            f"{package}: description: not carried by QTI: the bank description",
            f"{package}: notes: not carried by QTI: the bank notes",
            f"{package}: misconceptions: not carried by QTI: "
            f"{len(expected.bank.misconceptions)} misconceptions",
        ]
        assert (
            f'{package}: item "dc-007": interaction.unit: not carried by QTI: the unit' in printed
        )
        assert not [line for line in printed if "XHTML" in line]

    done = run("bank", "convert", str(package), str(back))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{back}: wrote {len(expected.bank.items)} items (0 skipped)"
    ]
    assert read_bank(back) == _carried(expected.bank)
    if not notes:
        assert read_bank(back) == expected.bank


def test_from_and_to_override_the_file_names(tmp_path: Path) -> None:
    gift = tmp_path / "quiz.questions"
    gift.write_bytes((DATA / "gift" / "quiz.gift").read_bytes())
    package = tmp_path / "quiz.bin"
    done = run("bank", "convert", str(gift), str(package))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{gift}: unknown bank format '.questions'; use --from "
        "(native, qti, qti3, qti2, moodle, gift, csv)"
    ]
    assert not package.exists()

    done = run("bank", "convert", str(gift), str(package), "--from", "gift", "--to", "qti")
    assert done.returncode == 0, done.stderr
    assert zipfile.ZipFile(package).read("imsmanifest.xml").startswith(b"<?xml")
    native = tmp_path / "quiz.out"
    done = run("bank", "convert", str(package), str(native), "--from", "qti", "--to", "native")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(native.read_text())["id"] == "quiz"
    again = decode_bank(native.read_bytes(), source=str(native), fmt="yaml")
    assert again == read_any(DATA / "gift" / "quiz.gift").bank


def test_unsafe_or_invalid_input_exits_1_with_located_lines(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    laughs = DATA / "malicious" / "billion-laughs.xml"
    done = run("bank", "convert", str(laughs), str(out))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"{laughs}: line 2: the DOCTYPE declares 5 entities (lol, lol1, lol2, lol3, lol9); "
        "entity declarations are refused (they can expand without bound)"
    ]

    slip = tmp_path / "slip.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("imsmanifest.xml", "<manifest/>")
        archive.writestr(zipfile.ZipInfo("../../evil.xml"), b"x")
    slip.write_bytes(buffer.getvalue())
    done = run("bank", "convert", str(slip), str(out))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [f"{slip}!../../evil.xml: path escapes the package (..)"]

    gift = tmp_path / "bad.gift"
    gift.write_text("::a:: ok {=x ~y}\n::b:: broken {=x ~y\n")
    done = run("bank", "diff", str(gift), str(SAMPLE_BANK))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f'{gift}: item "#2": line 2: the answer block is not closed with }}'
    ]
    assert not out.exists()


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    old = raw_bank(4)
    new = copy.deepcopy(old)
    new["version"] = "2"
    new["title"] = "Demo bank, revised"
    new["items"] = [new["items"][0], new["items"][1], new["items"][3]]
    new["items"][0]["stem"] = "What is 2 + 2?"
    new["items"][0]["interaction"]["key"] = "b"
    new["items"][1]["irt"] = {"model": "3pl", "a": 1.25, "b": -0.5, "c": 0.2, "se": {"a": 0.08}}
    new["items"][2]["irt"]["b"] = 0.00002
    new["items"].append({**copy.deepcopy(old["items"][0]), "id": "q9"})
    a, b = tmp_path / "a.yaml", tmp_path / "b.json"
    a.write_text(yaml.safe_dump(old))
    b.write_text(json.dumps(new))
    return a, b


def test_diff_prints_added_removed_changed_and_parameter_changes(tmp_path: Path) -> None:
    a, b = _versions(tmp_path)
    done = run("bank", "diff", str(a), str(b))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"A = {a}: 'Demo bank' version 1, 4 items",
        f"B = {b}: 'Demo bank, revised' version 2, 4 items",
        "bank title: 'Demo bank' -> 'Demo bank, revised'",
        "bank version: '1' -> '2'",
        "added    q9",
        "removed  q3",
        "changed  q1  stem, interaction.key",
        "IRT parameters (logistic metric, D = 1):",
        "  item  model    parameter      A       B    change",
        "  q2    2pl>3pl  a          1.000   1.250    +0.250",
        "  q2    2pl>3pl  b          0.000  -0.500    -0.500",
        "  q2    2pl>3pl  c              -   0.200         -",
        "  q2    2pl>3pl  se(a)          -   0.080         -",
        "  q4    2pl      b          0.000   0.000  +2.0e-05",
        "4 items: 1 added, 1 removed, 1 changed, 2 with new parameters",
    ]
    same = run("bank", "diff", str(a), str(a))
    assert same.stdout.splitlines()[2:] == [
        "4 items: 0 added, 0 removed, 0 changed, 0 with new parameters"
    ]


def test_params_csv_merges_as_a_new_version(tmp_path: Path) -> None:
    items = tmp_path / "mc.csv"
    items.write_text(CSV_ITEMS)
    params = tmp_path / "calibrated.csv"
    params.write_text(
        'item_id,model,a,b,c,thresholds,se_a\nq1,3pl,1.2,0.3,0.2,,0.05\n"q2",2pl,0.9,-1,,,\n'
    )
    out = tmp_path / "bank.yaml"
    done = run("bank", "convert", str(items), str(out), "--params", str(params))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == [
        f"{params}: merged IRT parameters; version 1+params",
        f"{out}: wrote 2 items (0 skipped)",
    ]
    bank = read_bank(out)
    assert bank.version == "1+params"
    first, second = bank.items
    assert first.irt == ThreePL(a=1.2, b=0.3, c=0.2, se=first.irt.se)
    assert first.irt.se is not None and first.irt.se.a == 0.05
    assert second.irt == TwoPL(a=0.9, b=-1.0)

    diff = run("bank", "diff", str(items), str(out))
    assert diff.stdout.splitlines()[2:] == [
        "bank version: '1' -> '1+params'",
        "IRT parameters (logistic metric, D = 1):",
        "  item  model    parameter      A       B  change",
        "  q1    2pl>3pl  a          1.000   1.200  +0.200",
        "  q1    2pl>3pl  b          0.000   0.300  +0.300",
        "  q1    2pl>3pl  c              -   0.200       -",
        "  q1    2pl>3pl  se(a)          -   0.050       -",
        "  q2    2pl      a          1.000   0.900  -0.100",
        "  q2    2pl      b          0.000  -1.000  -1.000",
        "2 items: 0 added, 0 removed, 0 changed, 2 with new parameters",
    ]


def test_params_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps(raw_bank(4)))
    params = tmp_path / "p.csv"
    params.write_text(
        "item_id,model,a,b,c,thresholds\n"
        "q9,2pl,1.0,0.0,,\n"  # line 2: no such item
        'q1,2pl,1.0,"zero\npoint five",,\n'  # lines 3-4: a bad number over two lines
        "q2,2pl,1.0,0.5,0.2,\n"  # line 5: a 2PL has no c
        "q3,3pl,1.0,0.5,,\n"  # line 6: a 3PL needs c
        "q4,grm,1.0,,,0.5;x\n"  # line 7: thresholds that are not numbers
        "q1,2pl,1,0,,\n"  # line 8: q1 again
    )
    out = tmp_path / "out.yaml"
    done = run("bank", "convert", str(bank), str(out), "--params", str(params))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f'{params}: item "q9": line 2, column 1 (item_id): no such item in the bank',
        f"{params}: item \"q1\": line 3, column 4 (b): 'zero\\npoint five' is not a number",
        f'{params}: item "q2": line 5, column 5 (c): the 2pl model has no c',
        f'{params}: item "q3": line 6, column 5 (c): the 3pl model needs c',
        f"{params}: item \"q4\": line 7, column 6 (thresholds): '0.5;x' is not numbers "
        "separated by ;",
        f'{params}: item "q1": line 8, column 1 (item_id): repeats line 3',
    ]
    assert not out.exists()

    # Parameters that fit the CSV but not the item: located at the model column.
    params.write_text("item_id,model,a,thresholds\nq1,gpcm,1.0,0.5\n")
    done = run("bank", "convert", str(bank), str(out), "--params", str(params))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f'{params}: item "q1": line 2, column 2 (model): irt.model: gpcm needs an interaction '
        "that can earn partial credit; this item is scored right or wrong (use 1pl-4pl)"
    ]
    missing = run("bank", "convert", str(bank), str(out), "--params", str(tmp_path / "no.csv"))
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"{tmp_path / 'no.csv'}: cannot read the file: No such file or directory"
    ]
    assert "Traceback" not in done.stderr + missing.stderr
