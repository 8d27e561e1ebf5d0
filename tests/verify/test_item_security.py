"""The author's item-security page: drift and exposure evidence from the live responses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import pytest

from calibration.drift_simulation import simulate_drift
from engine.policy import ExposureConfig, Policy
from engine.pool import compile_pool
from engine.session import Session
from engine.stopping import FixedLength
from tests.calibration.test_drift import timed_bank
from tests.credentials.helpers import take
from tests.verify.helpers import OFF, author_of
from tests.web.conftest import Site, open_site
from web import authoring
from web.item_security import item_security
from web.store import banks as bank_store
from web.store import sessions as session_store


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from open_site(sqlite_url, tmp_path, **OFF)


def strict_exposure(site: Site) -> str:
    """The demo's bank and policy with r_max 5 %: its common items are given far more."""
    rt = site.runtime
    with rt.db.read() as conn:
        demo = rt.assessment(conn, site.assessment_id)
    exposure = msgspec.structs.replace(demo.policy.exposure, r_max=0.05)
    policy = msgspec.structs.replace(demo.policy, exposure=exposure)
    assert isinstance(policy.exposure, ExposureConfig)
    created = authoring.create_assessment(
        rt,
        author_of(site),
        authoring.AssessmentCreate(title="Exposure", bank_hash=demo.bank_hash, policy=policy),
    )
    return created.id


def login(site: Site) -> None:
    site.client.post("/author/login", data={"token": site.token, "_csrf_token": site.csrf()})


def test_overexposed_items_are_listed_with_their_evidence(site: Site) -> None:
    assessment = strict_exposure(site)
    for seed in range(12):
        take(site.client, assessment, seed=seed, correct=seed % 2 == 0, email=None, name=None)
    security = item_security(site.runtime, author_of(site), assessment)
    assert security.problem is None and security.report is not None
    report = security.report
    assert report.persons == 12 and report.r_max == 0.05
    overexposed = [i for i in report.items if "overexposed" in i.flags]
    assert overexposed, [(i.item_id, i.persons_share, i.exposure_p) for i in report.items]
    for i in overexposed:
        assert i.persons_share > 0.05 and i.exposure_p is not None and i.exposure_p < 0.01
    login(site)
    page = site.client.get(f"/author/assessments/{assessment}/items")
    assert page.status_code == 200
    first = overexposed[0]
    row = re.search(
        rf"<th scope=\"row\">{re.escape(first.item_id)}</th>\s*<td>([^<]*)</td>", page.text
    )
    assert row is not None and "overexposed" in row.group(1)
    assert f"{len(report.flagged)} flagged" in page.text
    assert "5%" in page.text  # the policy's r_max, said on the page


def test_no_answers_and_other_authors(site: Site) -> None:
    assessment = strict_exposure(site)
    security = item_security(site.runtime, author_of(site), assessment)
    assert security.report is None and security.problem == "No answers yet."
    login(site)
    assert "No answers yet." in site.client.get(f"/author/assessments/{assessment}/items").text
    other, token = authoring.create_author(site.runtime, "eve@example.org")
    site.client.post("/author/login", data={"token": token, "_csrf_token": site.csrf()})
    assert site.client.get(f"/author/assessments/{assessment}/items").status_code == 404
    del other


def test_the_credential_page_names_the_public_bank_risk(site: Site) -> None:
    login(site)
    page = site.client.get(f"/author/assessments/{site.assessment_id}/credential").text
    assert "Who else can read the answers?" in page
    assert "sample bank" in page  # the demo awards on the public sample bank


def test_a_leaked_item_is_flagged_easier_and_faster_from_live_answers(site: Site) -> None:
    """800 learners' answers stored as the service stores them; item 4 leaks half-way."""
    rt = site.runtime
    bank = timed_bank()
    author = author_of(site)
    with rt.db.write() as conn:
        digest, _ = bank_store.store_bank(conn, bank, "timed.json", author.id, org_id=author.org_id)
    policy = Policy(stopping=FixedLength(n=15))
    created = authoring.create_assessment(
        rt, author, authoring.AssessmentCreate(title="Drift", bank_hash=digest, policy=policy)
    )
    data = simulate_drift(bank, 800, 3, item=4, shift=-1.5, faster=0.8)
    engine = Session(compile_pool(bank), policy)
    state = engine.start(1)
    with rt.db.write() as conn:
        sessions = [
            session_store.create_session(
                conn,
                assessment_id=created.id,
                state=state,
                learner_name=None,
                learner_email=None,
                deadline=None,
            )
            for _ in data.person_ids
        ]
        seq = np.zeros(len(sessions), dtype=int)
        for k in range(data.person.size):  # in answer order, as the service appends them
            person = int(data.person[k])
            seq[person] += 1
            session_store.append_response(
                conn,
                session_id=sessions[person],
                seq=int(seq[person]),
                item_id=data.item_ids[int(data.item[k])],
                answer="a",
                category=int(data.response[k]),
                max_category=1,
                pretest=False,
                estimates={},
                feedback=None,
                elapsed_ms=round(1000 * float(data.seconds[k])),
            )
    security = item_security(rt, author, created.id)
    assert security.report is not None, security.problem
    flagged = {i.item_id: i.flags for i in security.report.flagged}
    leaked = bank.items[4].id
    assert {"easier", "faster"} <= set(flagged.get(leaked, ())), flagged
    stable = [i for i in flagged if i != leaked and {"easier", "faster"} & set(flagged[i])]
    assert len(stable) <= 2, flagged  # about 1 % of 29 stable items per chart
    login(site)
    page = site.client.get(f"/author/assessments/{created.id}/items").text
    assert f'<th scope="row">{leaked}</th>' in page
