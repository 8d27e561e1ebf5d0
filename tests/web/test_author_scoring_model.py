"""The author's form chooses the scoring model and the multidimensional selection criteria.

Checked through the pages and the API: what the form offers, what it stores, what it refuses
(located at the field), and that the assessment page says which model scores it.
"""

from __future__ import annotations

import html
import random
from typing import Any

import msgspec
from sqlalchemy import func, select

from engine.learner import raw_answer
from engine.synthetic import synthetic_bank
from item_banks.model import Bank
from item_banks.native import encode_bank
from tests.answers import shown_by_text
from tests.web.conftest import Site
from tests.web.test_author_flow import sign_in
from web.db.schema import assessments

CORRELATED = msgspec.structs.replace(
    synthetic_bank(48, "2pl", 3, seed=4, correlation=0.6), title="Correlated skills"
)


def upload(site: Site, bank: Bank, name: str) -> str:
    sign_in(site)
    r = site.client.post(
        "/author/banks/upload",
        data={"_csrf_token": site.csrf()},
        files={"bank": (name, encode_bank(bank, "json"), "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[1]


def form(site: Site, digest: str, **fields: str) -> dict[str, str]:
    base = {
        "_csrf_token": site.csrf(),
        "bank_hash": digest,
        "title": "Joint check",
        "estimator": "eap",
        "selection": "max_info",
        "exposure": "none",
        "balance": "targets",
        "stop": "fixed",
        "fixed_length": "9",
        "feedback_mode": "end",
    }
    return {**base, **fields}


def count(site: Site) -> int:
    with site.runtime.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(assessments)).scalar_one())


def create(site: Site, digest: str, **fields: str) -> str:
    r = site.client.post(
        "/author/assessments", data=form(site, digest, **fields), follow_redirects=False
    )
    assert r.status_code == 303, html.unescape(r.text)
    return str(r.headers["location"]).rsplit("/", 1)[1]


def refused(site: Site, digest: str, **fields: str) -> str:
    before = count(site)
    r = site.client.post("/author/assessments", data=form(site, digest, **fields))
    assert r.status_code == 422
    assert "The assessment was not created" in r.text
    assert count(site) == before  # nothing stored
    return html.unescape(r.text)


def test_the_form_offers_the_models_criteria_and_weights(site: Site) -> None:
    digest = upload(site, CORRELATED, "correlated.json")
    page = html.unescape(site.client.get(f"/author/banks/{digest}").text)
    assert '<select id="model" name="model"' in page
    assert 'value="correlated"' in page and 'value="independent"' in page
    for method in ("d_optimal", "a_optimal", "c_optimal", "t_optimal", "e_optimal"):
        assert f"<option>{method}</option>" in page
    for cid in ("c1", "c2", "c3"):
        assert f'<input id="weight_{cid}" name="weight_{cid}"' in page
    assert "carries the matrix estimated by calibration (from 0.60 to 0.60)" in page
    # The demo bank has no matrix: the page says a correlated policy would run independent.
    demo = site.client.get("/api/v1/author/banks", headers=site.auth()).json()
    plain = next(v["hash"] for v in demo if v["hash"] != digest)
    page = html.unescape(site.client.get(f"/author/banks/{plain}").text)
    assert "this version has no correlation matrix, so every assessment on it is scored" in page


def test_a_correlated_assessment_with_weights_is_stored_shown_and_runs(site: Site) -> None:
    digest = upload(site, CORRELATED, "correlated.json")
    assessment_id = create(
        site, digest, model="correlated", selection="a_optimal", weight_c2="2.5", weight_c1=""
    )
    with site.runtime.db.read() as conn:
        policy = site.runtime.assessment(conn, assessment_id).policy
    assert policy.model == "correlated"
    assert policy.selection.method == "a_optimal"
    assert policy.selection.weights == {"c2": 2.5}  # empty fields stay at 1
    page = html.unescape(site.client.get(f"/author/assessments/{assessment_id}").text)
    assert "Scoring model: <strong>correlated</strong> (all skills were estimated together" in page
    assert "Item selection: a_optimal (weights c2 2.5; others 1)" in page
    assert "simulated with the independent model for the correlated one" in page
    overview = site.client.get(
        f"/api/v1/author/assessments/{assessment_id}", headers=site.auth()
    ).json()
    assert overview["scoring_model"] == "correlated"
    assert overview["policy"]["model"] == "correlated"
    # A learner's session through the API is scored by the correlated model.
    rng = random.Random(2)
    items = {item.id: item for item in CORRELATED.items}
    view = site.client.post(f"/api/v1/assessments/{assessment_id}/sessions", json={}).json()
    while view["status"] == "in_progress":
        item = items[view["item"]["id"]]
        body: dict[str, Any] = {
            "item_id": item.id,
            "position": view["item"]["position"],
            "answer": shown_by_text(item, view["item"], raw_answer(item, 1, rng)),
        }
        r = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body)
        assert r.status_code in (200, 201), r.text
        view = r.json()["session"]
    assert view["status"] == "finished"
    assert view["result"]["scoring_model"] == "correlated"
    assert all(c["theta"] > 0 for c in view["result"]["competencies"])


def test_correlated_with_ml_or_wle_is_refused(site: Site) -> None:
    digest = upload(site, CORRELATED, "correlated.json")
    for estimator in ("mle", "wle"):
        page = refused(site, digest, model="correlated", estimator=estimator)
        needs = "policy: model: a correlated session needs a Bayesian estimator (eap or map)"
        assert f'{needs}; "{estimator}" ignores the prior' in page
    # The form keeps what was entered.
    assert '<option value="correlated" selected>' in page


def test_bad_models_and_weights_are_located(site: Site) -> None:
    digest = upload(site, CORRELATED, "correlated.json")
    page = refused(site, digest, model="joint")
    assert "model: must be one of independent, correlated, got 'joint'" in page
    page = refused(site, digest, selection="max_info", weight_c1="2")
    assert (
        "weight_c1: competency weights apply only to the a_optimal, c_optimal, t_optimal item "
        "selection, not max_info" in page
    )
    page = refused(site, digest, selection="c_optimal", weight_c1="0", weight_c3="lots")
    assert "weight_c1: must be above 0 and at most 100, got 0" in page
    assert "weight_c3: must be a number, got 'lots'" in page
    page = refused(site, digest, selection="optimal")
    assert "selection: must be one of" in page and "got 'optimal'" in page
    # The TOML box reaches the same checks, located in the policy.
    toml = 'model = "correlated"\n[selection]\nmethod = "t_optimal"\nweights = {ghost = 2.0}\n'
    page = refused(site, digest, policy_toml=toml)
    assert 'policy: selection.weights.ghost: "ghost" is not a competency of the bank' in page
    toml = '[selection]\nmethod = "a_optimal"\nweights = {c1 = -1.0}\n'
    page = refused(site, digest, policy_toml=toml)
    assert "policy_toml: selection.weights.c1: must be > 0, got -1.0" in page


def test_correlated_on_a_bank_without_a_matrix_runs_independent_and_says_so(
    site: Site,
) -> None:
    sign_in(site)
    demo = site.client.get("/api/v1/author/banks", headers=site.auth()).json()
    assessment_id = create(site, demo[0]["hash"], model="correlated", selection="d_optimal")
    page = html.unescape(site.client.get(f"/author/assessments/{assessment_id}").text)
    assert "Scoring model: <strong>independent</strong>" in page
    assert "The policy asks for the correlated model, but this bank version has no" in page
    assert "so every session is scored independent" in page  # the forecast's warning
    created = site.client.get(
        f"/api/v1/author/assessments/{assessment_id}", headers=site.auth()
    ).json()
    assert created["scoring_model"] == "independent"
    assert created["policy"]["model"] == "correlated"  # what the author chose is kept


def test_the_api_creates_correlated_assessments_and_warns_without_a_matrix(site: Site) -> None:
    digest = upload(site, CORRELATED, "correlated.json")
    body: dict[str, Any] = {
        "title": "API joint",
        "bank_hash": digest,
        "policy": {
            "model": "correlated",
            "selection": {"method": "c_optimal", "weights": {"c3": 4.0}},
            "stopping": {"rule": "fixed_length", "n": 6},
        },
    }
    created = site.client.post("/api/v1/author/assessments", json=body, headers=site.auth())
    assert created.status_code == 201, created.text
    assert not any("correlation matrix" in w for w in created.json()["warnings"])
    plain = next(
        v["hash"]
        for v in site.client.get("/api/v1/author/banks", headers=site.auth()).json()
        if v["hash"] != digest
    )
    body["bank_hash"] = plain
    body["policy"]["selection"] = {"method": "d_optimal"}
    created = site.client.post("/api/v1/author/assessments", json=body, headers=site.auth())
    assert created.status_code == 201, created.text
    assert any("no correlation matrix" in w for w in created.json()["warnings"])
    body["policy"]["estimator"] = {"method": "wle"}
    refused = site.client.post("/api/v1/author/assessments", json=body, headers=site.auth())
    assert refused.status_code == 422
    assert any(
        e.startswith("policy: model: a correlated session needs a Bayesian estimator")
        for e in refused.json()["errors"]
    )
