"""What a bank gives away: warnings for banks that hold answer keys and are used to award.

A native bank file holds every automatically scored item's key (and its rationales and worked
solution). That is what makes it scorable, and what makes it a risk: anyone who has the file
can pass an assessment built on it. :func:`secrecy_warnings` is the lint that
``skillgauge bank validate --awarding`` prints and that the web service runs for an
assessment that awards credentials.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from item_banks.errors import ItemBankError, Problem
from item_banks.model import Bank, auto_scored
from item_banks.native import content_hash, read_bank

SAMPLES = Path(__file__).parent / "samples"
ADVICE = 'see "Keeping operational banks private" in README.md'


@cache
def _published() -> dict[str, tuple[str, str]]:
    """Sample banks that ship with Skillgauge: id and content hash -> (file name, kind)."""
    known: dict[str, tuple[str, str]] = {}
    for path in sorted(SAMPLES.glob("*.y*ml")) + sorted(SAMPLES.glob("*.json")):
        try:
            bank = read_bank(path)
        except ItemBankError:  # pragma: no cover - the samples are validated by the suite
            continue
        known[content_hash(bank)] = (path.name, "content")
        known.setdefault(bank.id, (path.name, "id"))
    return known


def secrecy_warnings(bank: Bank, source: str, *, awarding: bool) -> list[Problem]:
    """Warnings about answer keys in a bank used by an assessment that awards credentials.

    Parameters
    ----------
    bank
        The bank.
    source
        Where it came from (file or upload name), for the messages.
    awarding
        Whether an assessment that awards credentials uses the bank; no warnings otherwise.

    Returns
    -------
    list of Problem
        One warning when the bank holds keys (with the number of items), and one more when
        it is a sample bank shipped with Skillgauge, or has a sample bank's id, whose keys are
        public.
    """
    if not awarding:
        return []
    keyed = [item for item in bank.items if auto_scored(item)]
    warnings: list[Problem] = []
    if keyed:
        warnings.append(
            Problem(
                source=source,
                field="items",
                message=f"{len(keyed)} of {len(bank.items)} items hold their answer keys "
                "(with rationales and solutions): an assessment that awards credentials must "
                "keep this file private, since anyone who has it can pass; do not commit it "
                f"to a public repository or share it with learners ({ADVICE})",
            )
        )
    published = _published()
    hit = published.get(content_hash(bank)) or published.get(bank.id)
    if hit is not None:
        name, kind = hit
        what = "is the sample bank" if kind == "content" else "has the id of the sample bank"
        warnings.append(
            Problem(
                source=source,
                message=f"this {what} {name} published with Skillgauge: its keys are public, so a "
                "credential awarded on it certifies nothing; write your own items",
            )
        )
    return warnings
