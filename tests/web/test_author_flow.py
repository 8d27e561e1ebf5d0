"""The author flow in pages and through the API: sign in, upload, create, statistics, export."""

from __future__ import annotations

import csv
import html
import io
import json
import random
from pathlib import Path
from typing import Any

import msgspec
import yaml
from sqlalchemy import func, select

from engine.learner import raw_answer
from engine.policy_forecast import se_target
from item_banks.model import category_count
from item_banks.native import encode_bank, read_bank
from item_banks.sample import sample_bank_path
from tests.answers import shown_by_text
from tests.item_banks.helpers import raw_bank
from tests.web.conftest import Site
from web.db.schema import bank_versions
from web.pseudonyms import person_id


def sign_in(site: Site) -> None:
    r = site.client.post(
        "/author/login",
        data={"_csrf_token": site.csrf(), "token": site.token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/author"


def bank_count(site: Site) -> int:
    with site.runtime.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(bank_versions)).scalar_one())


def test_token_sign_in(site: Site) -> None:
    wrong = site.client.post(
        "/author/login", data={"_csrf_token": site.csrf(), "token": "sgt_wrong"}
    )
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    sign_in(site)
    home = site.client.get("/author")
    assert home.status_code == 200
    assert "Python for data analysis" in home.text
    out = site.client.post(
        "/author/logout", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    assert out.status_code == 303
    assert site.client.get("/author", follow_redirects=False).status_code == 303


def test_broken_upload_shows_located_errors_and_stores_nothing(site: Site) -> None:
    sign_in(site)
    raw = raw_bank(3)
    raw["items"][1]["id"] = "py-023"
    raw["items"][1]["irt"]["a"] = -0.4
    raw["items"][2]["competency"] = "ghost"
    before = bank_count(site)
    page = site.client.post(
        "/author/banks/upload",
        data={"_csrf_token": site.csrf()},
        files={"bank": ("broken.yaml", yaml.safe_dump(raw).encode(), "application/yaml")},
    )
    assert page.status_code == 422
    assert "broken.yaml was not stored: 2 problem(s)" in page.text
    text = html.unescape(page.text)
    assert 'broken.yaml: item "py-023": irt.a: must be > 0, got -0.4' in text
    assert 'broken.yaml: item "q3": competency: "ghost" is not a competency' in text
    assert bank_count(site) == before


def test_upload_a_new_version_and_create_an_assessment(site: Site) -> None:
    sign_in(site)
    bank = read_bank(sample_bank_path())
    newer = msgspec.structs.replace(bank, version="1.1")
    uploaded = site.client.post(
        "/author/banks/upload",
        data={"_csrf_token": site.csrf()},
        files={"bank": ("bank-1.1.json", encode_bank(newer, "json"), "application/json")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    bank_page = site.client.get(uploaded.headers["location"])
    assert "version 1.1" in bank_page.text
    digest = uploaded.headers["location"].rsplit("/", 1)[1]
    home = site.client.get("/author").text
    assert "version 1.0" in home and "version 1.1" in home  # both versions listed
    form = {
        "_csrf_token": site.csrf(),
        "bank_hash": digest,
        "title": "Quick check",
        "estimator": "eap",
        "selection": "max_info",
        "exposure": "randomesque",
        "balance": "targets",
        "stop": "precision",
        "precision": "50",
        "min_items": "4",
        "max_items": "12",
        "pass_mark_python-core": "550",
        "feedback_mode": "end",
        "time_limit_minutes": "20",
    }
    created = site.client.post("/author/assessments", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    assessment_id = created.headers["location"].rsplit("/", 1)[1]
    overview = site.client.get(f"/api/v1/author/assessments/{assessment_id}", headers=site.auth())
    # The form's author (demo) owns it, so the API with the demo token sees it.
    assert overview.status_code == 200
    summary = overview.json()["assessment"]
    assert summary["feedback_mode"] == "end"
    assert summary["time_limit_minutes"] == 20
    assert summary["max_items"] == 12
    with site.runtime.db.read() as conn:
        policy = site.runtime.assessment(conn, assessment_id).policy
    # The form speaks points; the stored policy, the ability scale.
    assert policy.cut_scores == {"python-core": 0.5}
    assert se_target(policy.stopping) == 0.5


def test_policy_problems_are_shown_and_nothing_created(site: Site) -> None:
    sign_in(site)
    versions = site.client.get("/api/v1/author/banks", headers=site.auth()).json()
    form = {
        "_csrf_token": site.csrf(),
        "bank_hash": versions[0]["hash"],
        "stop": "fixed",
        "fixed_length": "500",
        "feedback_mode": "instant",
    }
    page = site.client.post("/author/assessments", data=form)
    assert page.status_code == 422
    operational = sum(1 for i in read_bank(sample_bank_path()).items if i.status == "operational")
    assert f"asks for up to 500 items; the bank has {operational} operational items" in page.text
    assert len(site.client.get("/api/v1/author/assessments", headers=site.auth()).json()) == 1
    bad_field = dict(form, stop="precision", precision="abc")
    page = site.client.post("/author/assessments", data=bad_field)
    assert page.status_code == 422
    assert "precision: must be a number, got 'abc'" in html.unescape(page.text)


def play(site: Site, assessment_id: str, n_sessions: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    bank = read_bank(sample_bank_path())
    items = {item.id: item for item in bank.items}
    ids = []
    for _ in range(n_sessions):
        view = site.client.post(f"/api/v1/assessments/{assessment_id}/sessions", json={}).json()
        ids.append(view["id"])
        while view["status"] == "in_progress":
            item = items[view["item"]["id"]]
            category = rng.randrange(category_count(item.irt))
            body: dict[str, Any] = {
                "item_id": item.id,
                "position": view["item"]["position"],
                "answer": shown_by_text(item, view["item"], raw_answer(item, category, rng)),
            }
            view = site.client.post(f"/api/v1/sessions/{view['id']}/responses", json=body).json()[
                "session"
            ]
    return ids


def test_statistics_and_export_match_the_stored_answers(site: Site) -> None:
    sessions = play(site, site.assessment_id, 4, seed=3)
    persons = {person_id(site.runtime.settings.secret_key, sid) for sid in sessions}
    assert len(persons) == 4
    overview = site.client.get(
        f"/api/v1/author/assessments/{site.assessment_id}", headers=site.auth()
    ).json()
    assert {s["person_id"] for s in overview["sessions"]} == persons
    exported = site.client.get(
        f"/api/v1/author/assessments/{site.assessment_id}/responses.csv", headers=site.auth()
    )
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert set(rows[0]) >= {"person_id", "item_id", "response"}
    assert {r["person_id"] for r in rows} == persons  # the same pseudonyms as the overview
    per_item: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        per_item.setdefault(row["item_id"], []).append(row)
    for stat in overview["items"]:
        mine = per_item[stat["item_id"]]
        assert stat["sessions"] == len({r["person_id"] for r in mine})
        assert stat["exposure_rate"] == stat["sessions"] / 4
        correct = sum(r["response"] == r["max_category"] for r in mine) / len(mine)
        assert abs(stat["proportion_correct"] - correct) < 1e-12
        assert stat["mean_ability"] is not None
    page = site.client.get(
        f"/author/assessments/{site.assessment_id}/responses.csv", follow_redirects=False
    )
    assert page.status_code == 303  # pages need the signed-in author
    sign_in(site)
    page = site.client.get(f"/author/assessments/{site.assessment_id}/responses.csv")
    assert page.text == exported.text
    assert "attachment" in page.headers["content-disposition"]
    overview_page = site.client.get(f"/author/assessments/{site.assessment_id}")
    assert "Per-item statistics" in overview_page.text


def test_api_upload_and_create(site: Site) -> None:
    bad = site.client.post(
        "/api/v1/author/banks?filename=b.json",
        content=json.dumps(raw_bank(0)).encode(),
        headers=site.auth(),
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["title"] == "The bank is not valid"
    assert problem["errors"] == ["b.json: items: the bank has no items"]
    assert problem["located"] == [
        {"source": "b.json", "field": "items", "message": "the bank has no items"}
    ]
    good = site.client.post(
        "/api/v1/author/banks?filename=b.json",
        content=json.dumps(raw_bank(6)).encode(),
        headers=site.auth(),
    )
    assert good.status_code == 201, good.text
    digest = good.json()["hash"]
    again = site.client.post(
        "/api/v1/author/banks?filename=b.json",
        content=json.dumps(raw_bank(6)).encode(),
        headers=site.auth(),
    )
    assert again.json() == {**good.json(), "new": False}
    refused = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "T",
            "bank_hash": digest,
            "policy": {"stopping": {"rule": "max_items", "n": 10}},
        },
        headers=site.auth(),
    )
    assert refused.status_code == 422
    assert (
        "policy: stopping: asks for up to 10 items; the bank has 6 operational items"
        in refused.json()["errors"]
    )
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "T",
            "bank_hash": digest,
            "policy": {"stopping": {"rule": "max_items", "n": 4}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["url"].endswith(f"/a/{created.json()['id']}")


def test_openapi_schema(site: Site) -> None:
    schema = site.client.get("/schema")
    assert schema.status_code == 200
    doc = schema.json()
    assert doc["openapi"].startswith("3.1")
    paths = set(doc["paths"])
    assert {
        "/api/v1/assessments/{assessment_id}/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/responses",
        "/api/v1/author/banks",
        "/api/v1/author/assessments",
    } <= paths
    assert not any(p.startswith(("/s/", "/a/", "/author/")) for p in paths)  # pages are not API
    assert "AnswerRequest" in json.dumps(doc["components"])


FORMATS = Path(__file__).resolve().parents[1] / "item_banks" / "formats" / "data"


def test_uploads_of_other_formats(site: Site) -> None:
    """GIFT and Moodle XML import through the upload form; what is left out is listed."""
    sign_in(site)
    for path in (FORMATS / "gift" / "quiz.gift", FORMATS / "moodle" / "quiz.xml"):
        page = site.client.post(
            "/author/banks/upload",
            data={"_csrf_token": site.csrf()},
            files={"bank": (path.name, path.read_bytes(), "application/octet-stream")},
            follow_redirects=False,
        )
        # Both carry no IRT parameters, so the "stored" page lists that warning (and Moodle's
        # skipped question) instead of redirecting to the bank.
        assert page.status_code == 201, page.text
        text = html.unescape(page.text)
        assert ": stored" in text
        assert f"{path.name}: " in text  # every note is located in the uploaded file
        assert "carry no IRT parameters" in text
    versions = site.client.get("/api/v1/author/banks", headers=site.auth()).json()
    assert {v["source_name"] for v in versions} >= {"quiz.gift", "quiz.xml"}


def test_malicious_upload_is_refused_with_a_located_message(site: Site) -> None:
    sign_in(site)
    before = bank_count(site)
    path = FORMATS / "malicious" / "billion-laughs.xml"
    page = site.client.post(
        "/author/banks/upload",
        data={"_csrf_token": site.csrf()},
        files={"bank": (path.name, path.read_bytes(), "application/xml")},
    )
    assert page.status_code == 422
    assert "billion-laughs.xml" in html.unescape(page.text)
    assert bank_count(site) == before
    api = site.client.post(
        "/api/v1/author/banks?filename=evil.xml", content=path.read_bytes(), headers=site.auth()
    )
    assert api.status_code == 422
    assert api.json()["errors"][0].startswith("evil.xml")


def test_a_bank_of_essays_is_stored_and_an_assessment_on_it_is_refused(site: Site) -> None:
    """Human-scored items are stored with a located warning; the engine cannot run them."""
    sign_in(site)
    essay = FORMATS / "qti3" / "extended-text.xml"
    page = site.client.post(
        "/author/banks/upload",
        data={"_csrf_token": site.csrf()},
        files={"bank": (essay.name, essay.read_bytes(), "application/xml")},
        follow_redirects=False,
    )
    assert page.status_code == 201, page.text
    text = html.unescape(page.text)
    assert 'extended-text.xml: competencies["extended-text"]: this competency has only' in text
    assert "cannot be measured adaptively" in text
    versions = site.client.get("/api/v1/author/banks", headers=site.auth()).json()
    digest = next(v["hash"] for v in versions if v["source_name"] == essay.name)
    bank_page = html.unescape(site.client.get(f"/author/banks/{digest}").text)
    assert "No assessment can run on this version" in bank_page
    assert 'bank "extended-text" has only human-scored items' in bank_page
    before = len(site.client.get("/api/v1/author/assessments", headers=site.auth()).json())
    form = {"_csrf_token": site.csrf(), "bank_hash": digest, "feedback_mode": "instant"}
    refused_page = site.client.post("/author/assessments", data=form)
    assert refused_page.status_code == 422
    assert "bank_hash: bank" in html.unescape(refused_page.text)
    api = site.client.post(
        "/api/v1/author/assessments",
        json={"title": "T", "bank_hash": digest, "policy": {}},
        headers=site.auth(),
    )
    assert api.status_code == 422
    assert api.json()["title"] == "The bank cannot be run"
    assert "only human-scored items: it cannot be measured adaptively" in api.json()["detail"]
    after = len(site.client.get("/api/v1/author/assessments", headers=site.auth()).json())
    assert after == before
