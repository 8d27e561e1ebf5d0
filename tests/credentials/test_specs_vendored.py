"""The vendored reference files are the standards bodies' files, byte for byte.

``tests/data/specs.sha256`` holds the SHA-256 of every file as copied from
``../shared/specs`` (``sha256sum`` format). The first test runs everywhere and catches any
edit to a vendored vector; the second compares the list with the shared folder itself,
which exists only in a checkout that sits beside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.credentials.specs import SHARED_SPECS, SPECS

CHECKSUMS = SPECS.parent / "specs.sha256"


def _recorded() -> dict[str, str]:
    lines = CHECKSUMS.read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_vendored_specs_are_unchanged() -> None:
    recorded = _recorded()
    assert len(recorded) >= 15  # every vector the credential tests read is listed
    assert _digests(SPECS) == recorded


def test_recorded_checksums_match_the_shared_folder() -> None:
    if not SHARED_SPECS.exists():
        pytest.skip(f"no shared specs folder at {SHARED_SPECS}; checksums checked above only")
    assert _digests(SHARED_SPECS) == _recorded()
