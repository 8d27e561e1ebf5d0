"""Where the standards' reference files live: ``../shared/specs`` beside the repository."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import REPO

SPECS = REPO.parent / "shared" / "specs"


def spec_text(relative: str) -> str:
    path = SPECS / relative
    assert path.exists(), f"reference file missing: {path} (the shared specs folder)"
    return path.read_text(encoding="utf-8")


def spec_json(relative: str) -> Any:
    return json.loads(spec_text(relative))
