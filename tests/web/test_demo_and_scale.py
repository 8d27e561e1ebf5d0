"""One reported scale everywhere people read numbers, and a demo that keeps its promise."""

from __future__ import annotations

import json
import re

import msgspec
from sqlalchemy import select

from engine.policy import ContentConfig, Policy
from engine.standing import scaled_score
from engine.stopping import AllOf, AnyOf, MaxItems, MinItems, StandardErrorRule
from tests.credentials.helpers import take
from tests.web.conftest import Site
from web.credentials.ob3 import LOGIT_SCALE_NAME
from web.credentials.verify import summarize
from web.db.schema import credentials, webhook_messages
from web.demo import DEMO_POLICY, ensure_demo
from web.store import assessments as assessment_store
from web.wording import stop_clause

OLD_DEMO_POLICY = Policy(
    content=ContentConfig(balance="targets"),
    stopping=AllOf(
        rules=(MinItems(n=8), AnyOf(rules=(StandardErrorRule(max_se=0.45), MaxItems(n=24))))
    ),
)


def test_the_demo_policy_is_reachable_on_its_bank_and_spreads_first_items(site: Site) -> None:
    with site.runtime.db.read() as conn:
        compiled = site.runtime.compiled(
            conn, site.runtime.assessment(conn, site.assessment_id).bank_hash
        )
    forecast = site.runtime.forecast(compiled, DEMO_POLICY)
    assert forecast.met_se_target is not None and forecast.met_se_target >= 0.9
    assert forecast.stopped_early is not None and forecast.stopped_early >= 0.8
    assert forecast.same_first_item <= 0.4
    assert forecast.warnings == ()
    old = site.runtime.forecast(compiled, OLD_DEMO_POLICY)
    assert old.met_se_target is not None and old.met_se_target < 0.05  # the finding
    assert len(old.warnings) == 2
    firsts = {
        site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={}).json()[
            "item"
        ]["id"]
        for _ in range(12)
    }
    assert len(firsts) > 1  # sessions do not all start with the same question


def test_the_landing_page_promises_what_the_forecast_shows(site: Site) -> None:
    landing = site.client.get(f"/a/{site.assessment_id}").text
    length = re.search(r'<p id="length">\s*(.*?)\s*</p>', landing, re.S)
    assert length is not None
    text = " ".join(length.group(1).split())
    assert re.match(r"Usually \d+ to \d+ questions, never more than 28\.", text), text
    assert "It stops once each skill is measured to ± 65 points" in text
    old = site.client.post(
        "/api/v1/author/assessments",
        headers=site.auth(),
        json={
            "title": "Old demo",
            "bank_hash": _bank_hash(site),
            "policy": msgspec.to_builtins(OLD_DEMO_POLICY),
        },
    )
    assert old.status_code == 201, old.text
    warnings = old.json()["warnings"]
    assert any("reach the precision target" in w for w in warnings)
    assert any("start with the same question" in w for w in warnings)
    landing = site.client.get(f"/a/{old.json()['id']}").text
    assert "Most learners answer all 24." in landing
    assert "stops earlier once each skill" not in landing
    overview = site.client.get(
        f"/api/v1/author/assessments/{old.json()['id']}", headers=site.auth()
    ).json()
    assert overview["forecast"]["warnings"] == warnings


def _bank_hash(site: Site) -> str:
    with site.runtime.db.read() as conn:
        return site.runtime.assessment(conn, site.assessment_id).bank_hash


def test_progress_report_credential_and_webhooks_speak_one_scale(site: Site) -> None:
    site.client.post(
        "/api/v1/author/webhooks",
        json={"url": "https://example.org/hooks", "event_types": ["assessment.completed"]},
        headers=site.auth(),
    )
    start = site.client.post(f"/api/v1/assessments/{site.assessment_id}/sessions", json={})
    progress = start.json()["progress"]["competencies"][0]
    # the SE in theta is shown to 4 decimals, the points from the unrounded SE
    assert abs(progress["score_se"] - 100 * progress["se"]) <= 0.5 + 0.05
    question = site.client.get(f"/s/{start.json()['id']}").text
    assert f"measured to ± {progress['score_se']} points" in question
    view = take(site.client, site.assessment_id)
    result = view["result"]["competencies"]
    report = site.client.get(f"/api/v1/sessions/{view['id']}/report").json()
    with site.runtime.db.read() as conn:
        document = json.loads(conn.execute(select(credentials.c.document)).scalar_one())
        rows = conn.execute(select(webhook_messages.c.payload)).scalars().all()
    (payload,) = [json.loads(p) for p in rows]
    results = document["credentialSubject"]["result"]
    described = {
        d["id"]: d for d in document["credentialSubject"]["achievement"]["resultDescription"]
    }
    for c, r, line in zip(result, report["competencies"], results, strict=True):
        score = c["score"]  # theta is shown to 4 decimals: the score within half a point of it
        assert abs(score - float(scaled_score(c["theta"]))) <= 0.5 + 1e-3
        assert r["score"] == score == int(line["value"])
        assert c["score_se"] == r["score_se"]
        assert abs(c["score_se"] - 100 * c["se"]) <= 0.5 + 0.05  # se shown to 4 decimals
        assert int(described[line["resultDescription"]]["requiredValue"]) == c["pass_mark"]
        assert described[line["resultDescription"]]["name"].endswith("500 is typical)")
    narrative = document["evidence"][0]["narrative"]
    because = f"stopped because {stop_clause(view['result']['stop_reason'])}"
    assert because in narrative and "because reached" not in narrative
    assert "score " in narrative and "(ability estimate " in narrative
    assert "100%" not in narrative and "100 %" not in narrative
    for c, sent in zip(result, payload["data"]["competencies"], strict=True):
        assert sent["score"] == c["score"] and sent["theta"] == c["theta"]
    credential_id = document["id"].rsplit("/", 1)[1]
    page = site.client.get(f"/credentials/{credential_id}", headers={"accept": "text/html"}).text
    for c in result:
        assert f"<td>{c['score']}</td><td>{c['pass_mark']}</td>" in page
    evidence = site.client.get(f"/credentials/{credential_id}/evidence").text
    assert because in evidence
    assert "100%" not in evidence
    assert f"{result[0]['score']} ± {result[0]['score_se']}" in evidence
    author = site.client.get(
        f"/api/v1/author/assessments/{site.assessment_id}", headers=site.auth()
    )
    stats = author.json()["items"]
    assert all(abs(s["mean_score"] - (500 + 100 * s["mean_ability"])) <= 0.5 for s in stats)


def test_credentials_issued_on_the_logit_scale_are_read_in_points() -> None:
    """Credentials from before the one scale carried theta: pages show them in points."""
    document = {
        "credentialSubject": {
            "achievement": {
                "resultDescription": [
                    {"id": "#r1", "name": f"Pandas: {LOGIT_SCALE_NAME}", "requiredValue": "-0.30"}
                ]
            },
            "result": [{"resultDescription": "#r1", "value": "1.89", "status": "Completed"}],
        }
    }
    (line,) = summarize(document).results
    assert (line.name, line.score, line.pass_mark) == ("Pandas", "689", "470")
    assert (line.value, line.required) == ("1.89", "-0.30")  # the document is unchanged


def test_an_older_demo_assessment_with_another_policy_is_closed_on_start(site: Site) -> None:
    with site.runtime.db.write() as conn:
        demo = site.runtime.assessment(conn, site.assessment_id)
        old = assessment_store.create_assessment(
            conn,
            title="Python for data analysis",
            description="",
            bank_hash=demo.bank_hash,
            policy=OLD_DEMO_POLICY,
            feedback_mode="instant",
            time_limit_seconds=None,
            owner_id=demo.owner_id,
            org_id=demo.org_id,
        )
    info = ensure_demo(site.runtime)
    assert info.assessment_url.endswith(site.assessment_id)  # the demo with today's policy
    with site.runtime.db.read() as conn:
        closed = assessment_store.get_assessment(conn, old.id)
        current = assessment_store.get_assessment(conn, site.assessment_id)
    assert closed is not None and closed.status == "closed"
    assert current is not None and current.status == "open"
