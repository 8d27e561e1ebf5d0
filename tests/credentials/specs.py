"""The standards' reference files and test vectors.

They are vendored verbatim in ``tests/data/specs`` (see its README for sources and licences)
so the tests run wherever the repository is checked out. ``../shared/specs`` beside the
repository is the upstream copy; ``test_specs_vendored`` checks the vendored files against
their recorded SHA-256 sums everywhere, and the sums against the shared folder when present.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import REPO

SPECS = REPO / "tests" / "data" / "specs"
SHARED_SPECS = REPO.parent / "shared" / "specs"


def spec_text(relative: str) -> str:
    path = SPECS / relative
    assert path.exists(), f"reference file missing: {path} (vendored from ../shared/specs)"
    return path.read_text(encoding="utf-8")


def spec_json(relative: str) -> Any:
    return json.loads(spec_text(relative))
