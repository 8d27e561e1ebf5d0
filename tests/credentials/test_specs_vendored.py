"""The vendored reference files are the shared folder's, byte for byte."""

from __future__ import annotations

import pytest

from tests.credentials.specs import SHARED_SPECS, SPECS


def test_vendored_specs_match_the_shared_folder() -> None:
    if not SHARED_SPECS.exists():
        pytest.skip(f"no shared specs folder at {SHARED_SPECS} to compare with")
    shared = sorted(p.relative_to(SHARED_SPECS) for p in SHARED_SPECS.rglob("*") if p.is_file())
    vendored = sorted(p.relative_to(SPECS) for p in SPECS.rglob("*") if p.is_file())
    assert vendored == shared
    for relative in shared:
        assert (SPECS / relative).read_bytes() == (SHARED_SPECS / relative).read_bytes(), relative
