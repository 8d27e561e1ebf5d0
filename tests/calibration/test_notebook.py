"""The example notebook runs from top to bottom (nbclient, the project's own kernel)."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOK = REPO / "examples" / "calibration.ipynb"


def test_the_example_notebook_runs_and_shows_its_tables_and_figures() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(REPO)}},
        extra_arguments=["--HistoryManager.enabled=False"],
    )
    client.execute()  # kernel "python3" runs sys.executable: the project's environment
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "Calibration of VerbalAggression: 316 persons, 24 items; model gpcm by MML" in text
    assert "conditional logLik -5177.782, 47 parameters" in text
    assert "['bank.yaml', 'report.html', 'values-want.csv']" in text
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 2
    assert all(o.data["image/svg+xml"].lstrip().startswith("<svg") for o in svgs)
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) >= 5  # the DataFrames render as tables
