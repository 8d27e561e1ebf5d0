"""Feedback in the service: instant, end and practice modes, what is stored, and the report."""

from __future__ import annotations

import html
import random
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update

from engine.feedback import Feedback
from engine.learner import raw_answer
from item_banks.model import Item, MultipleResponse, Numeric, SingleChoice, category_count
from tests.answers import shown_ids
from tests.web.conftest import Site, form_fields
from tests.web.test_security import force_pending
from web.db.schema import learner_sessions, responses
from web.markdown import render
from web.runtime import CompiledBank
from web.store.sessions import load_session, response_at
from web.views import feedback_view


def compiled_of(site: Site, assessment_id: str | None = None) -> CompiledBank:
    with site.runtime.db.read() as conn:
        assessment = site.runtime.assessment(conn, assessment_id or site.assessment_id)
        return site.runtime.compiled(conn, assessment.bank_hash)


def new_assessment(site: Site, mode: str, **policy: Any) -> str:
    with site.runtime.db.read() as conn:
        bank_hash = site.runtime.assessment(conn, site.assessment_id).bank_hash
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": f"Python ({mode})",
            "bank_hash": bank_hash,
            "feedback_mode": mode,
            "policy": policy or {"stopping": {"rule": "fixed_length", "n": 8}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def start(site: Site, assessment_id: str | None = None) -> dict[str, Any]:
    reply = site.client.post(
        f"/api/v1/assessments/{assessment_id or site.assessment_id}/sessions", json={}
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def pend(site: Site, sid: str, compiled: CompiledBank, item_id: str) -> dict[str, Any]:
    """Make ``item_id`` the current question; return the session view."""
    force_pending(site, sid, compiled.pool.item_ids.index(item_id))
    view: dict[str, Any] = site.client.get(f"/api/v1/sessions/{sid}").json()
    assert view["item"]["id"] == item_id
    return view


def shown(site: Site, sid: str, item: Item, given: Any) -> Any:
    """``given`` (bank option ids) in the ids session ``sid`` is shown."""
    return shown_ids(site.runtime.settings.secret_key, sid, item, given)


def answer(
    site: Site, sid: str, view: dict[str, Any], given: Any, attempt: int = 1
) -> dict[str, Any]:
    """Answer the current question with ``given`` in the bank's option ids."""
    given = shown(site, sid, compiled_of(site).items[view["item"]["id"]], given)
    reply = site.client.post(
        f"/api/v1/sessions/{sid}/responses",
        json={
            "item_id": view["item"]["id"],
            "position": view["item"]["position"],
            "answer": given,
            "attempt": attempt,
        },
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def item_of(compiled: CompiledBank, item_id: str) -> Item:
    return compiled.items[item_id]


def stored_rows(site: Site, sid: str) -> int:
    with site.runtime.db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(responses).where(responses.c.session_id == sid)
            ).scalar_one()
        )


def first_with_misconception(compiled: CompiledBank) -> tuple[Item, str]:
    for item in compiled.bank.items:
        interaction = item.interaction
        if isinstance(interaction, SingleChoice) and item.status == "operational":
            for option in interaction.options:
                if option.misconception and option.id != interaction.key:
                    return item, option.id
    raise AssertionError("the sample bank has distractors with misconceptions")


# --------------------------------------------------------------------------- instant


def test_instant_feedback_explains_the_chosen_distractor_and_is_stored(site: Site) -> None:
    compiled = compiled_of(site)
    item, wrong = first_with_misconception(compiled)
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    option = next(o for o in interaction.options if o.id == wrong)
    key = next(o for o in interaction.options if o.id == interaction.key)
    view = start(site)
    sid = view["id"]
    view = pend(site, sid, compiled, item.id)
    body = answer(site, sid, view, wrong)
    feedback = body["feedback"]
    assert feedback["verdict"] == "wrong"
    (point,) = feedback["points"]
    assert point["label"] == "Your choice"
    assert point["reason_html"] == render(option.rationale)
    assert point["misconception"] == option.misconception
    assert feedback["key_reasons_html"] == [render(key.rationale)]
    assert feedback["solution_html"] == render(item.solution)
    assert [m["id"] for m in feedback["misconceptions"]] == [option.misconception]
    # what was shown is what is stored: the record reproduces the view
    with site.runtime.db.read() as conn:
        row = response_at(conn, sid, view["item"]["position"])
    assert row is not None and row.feedback is not None
    stored = msgspec.json.decode(row.feedback, type=Feedback)
    again = feedback_view(stored, row.seq, row.item_id)
    assert msgspec.json.decode(msgspec.json.encode(again)) == feedback
    # and the page shows the same explanation
    page = site.client.get(f"/s/{sid}/feedback/{view['item']['position']}").text
    assert html.unescape(render(option.rationale)) in html.unescape(page)
    assert "A common misconception" in page


def test_numeric_common_wrong_answer_and_format_slips(site: Site) -> None:
    compiled = compiled_of(site)
    item = item_of(compiled, "pd-005")  # key 0.625; authored: 62.5 (a percentage), 5 (a count)
    interaction = item.interaction
    assert isinstance(interaction, Numeric)
    view = start(site)
    sid = view["id"]
    view = pend(site, sid, compiled, item.id)
    for typed, message in (
        ("62.5%", "give a plain number without the percent sign (62.5% is 0.625)"),
        ("0,625", "write the decimal separator as a point (0.625)"),
        ("5 apples", "give just the number, without 'apples'"),
    ):
        refused = site.client.post(
            f"/api/v1/sessions/{sid}/responses",
            json={"item_id": item.id, "position": view["item"]["position"], "answer": typed},
        )
        assert refused.status_code == 422
        assert message in refused.json()["detail"]
    assert stored_rows(site, sid) == 0  # refused answers are not scored or stored
    body = answer(site, sid, view, "62.5")
    (point,) = body["feedback"]["points"]
    percent = next(w for w in interaction.common_wrong_answers if w.value == 62.5)
    assert point["reason_html"] == render(percent.explanation)
    assert [m["id"] for m in body["feedback"]["misconceptions"]] == ["proportion-vs-percentage"]


def test_multiple_response_lists_wrong_and_missed_choices_in_the_page(site: Site) -> None:
    compiled = compiled_of(site)
    item = next(
        i
        for i in compiled.bank.items
        if isinstance(i.interaction, MultipleResponse) and i.status == "operational"
    )
    interaction = item.interaction
    assert isinstance(interaction, MultipleResponse)
    wrong = next(o for o in interaction.options if o.id not in interaction.key)
    given = [interaction.key[0], wrong.id]
    r = site.client.post(
        f"/a/{site.assessment_id}/start", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    sid = r.headers["location"].rsplit("/", 1)[1]
    force_pending(site, sid, compiled.pool.item_ids.index(item.id))
    fields = form_fields(site.client.get(f"/s/{sid}").text)
    posted = site.client.post(
        f"/s/{sid}/answer",
        data={"_csrf_token": site.csrf(), **fields, "answer": shown(site, sid, item, given)},
        follow_redirects=False,
    )
    page = site.client.get(posted.headers["location"]).text
    assert page.count("Wrong choice:</span>") == 1
    assert page.count("Missed:</span>") == len(interaction.key) - 1
    assert page.count("Right choice:</span>") == 1


# --------------------------------------------------------------------------- end


def test_end_mode_shows_nothing_before_the_end_then_explains_in_the_report(
    any_site: Site,
) -> None:
    site = any_site
    assessment = new_assessment(site, "end")
    assert (
        "your report at the end explains every answer" in site.client.get(f"/a/{assessment}").text
    )
    compiled = compiled_of(site, assessment)
    view = start(site, assessment)
    sid = view["id"]
    rng = random.Random(4)
    positions = []
    while view["status"] == "in_progress":
        item = compiled.items[view["item"]["id"]]
        given = raw_answer(item, 0, rng)  # every answer wrong: plenty to explain
        body = answer(site, sid, view, given)
        assert body["feedback"] is None
        assert body.get("practice") is None
        position = view["item"]["position"]
        positions.append(position)
        withheld = site.client.get(f"/s/{sid}/feedback/{position}", follow_redirects=False)
        assert withheld.status_code == 303  # no feedback page in end mode
        view = body["session"]
        if view["status"] == "in_progress":
            question = site.client.get(f"/s/{sid}").text
            assert "Not right" not in question
            assert "rationale" not in question.lower()
            assert site.client.get(f"/api/v1/sessions/{sid}/report").status_code == 409
    report = site.client.get(f"/api/v1/sessions/{sid}/report").json()
    assert report["feedback_mode"] == "end"
    assert [a["position"] for a in report["answers"]] == positions
    assert all(a["feedback"]["verdict"] == "wrong" for a in report["answers"])
    assert any(p["reason_html"] for a in report["answers"] for p in a["feedback"]["points"])
    page = site.client.get(f"/s/{sid}/result").text
    assert "Your answers, explained" in page
    assert page.count('class="review"') == len(positions)


def test_the_report_is_refused_before_the_end(site: Site) -> None:
    view = start(site)
    refused = site.client.get(f"/api/v1/sessions/{view['id']}/report")
    assert refused.status_code == 409
    assert "finished" in refused.json()["detail"]
    assert site.client.get("/api/v1/sessions/nope/report").status_code == 404


# --------------------------------------------------------------------------- practice


def hinted_item(compiled: CompiledBank, hints: int) -> Item:
    return next(
        i
        for i in compiled.bank.items
        if len(i.hints) >= hints
        and i.status == "operational"
        and isinstance(i.interaction, SingleChoice)
    )


def test_practice_gives_hints_one_at_a_time_and_a_second_try(any_site: Site) -> None:
    """On SQLite and PostgreSQL: the hold lives in the session's state document."""
    site = any_site
    assessment = new_assessment(site, "practice")
    compiled = compiled_of(site, assessment)
    item = hinted_item(compiled, 2)
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    wrong = next(o.id for o in interaction.options if o.id != interaction.key)
    view = start(site, assessment)
    sid = view["id"]
    view = pend(site, sid, compiled, item.id)
    position = view["item"]["position"]

    first = answer(site, sid, view, wrong)
    assert first["feedback"] is None  # nothing explained yet
    practice = first["practice"]
    assert practice["hints_html"] == [render(item.hints[0])]  # one hint
    assert practice["hints_left"] == len(item.hints) - 1
    assert stored_rows(site, sid) == 0  # the item is not settled yet
    assert first["session"]["item"]["id"] == item.id  # the same question again
    page = site.client.get(f"/s/{sid}").text
    assert html.unescape(render(item.hints[0])) in html.unescape(page)
    assert html.unescape(render(item.hints[1])) not in html.unescape(page)
    assert 'name="attempt" value="2"' in page
    for option in interaction.options:
        assert html.unescape(render(option.rationale)) not in html.unescape(page)
    assert html.unescape(render(item.solution)) not in html.unescape(page)

    again = answer(site, sid, view, wrong)  # the first try repeated (double click): a replay
    assert again["practice"] == practice

    more = site.client.post(
        f"/api/v1/sessions/{sid}/hints", json={"item_id": item.id, "position": position}
    ).json()
    assert more["practice"]["hints_html"] == [render(h) for h in item.hints[:2]]  # two now

    second = answer(site, sid, view, interaction.key, attempt=2)
    feedback = second["feedback"]
    assert feedback["category"] == 0  # the first try is what counts
    assert feedback["second_try"]["correct"] is True
    assert feedback["hints_html"] == [render(h) for h in item.hints[:2]]
    assert second["session"]["item"]["id"] != item.id  # on to the next question
    with site.runtime.db.read() as conn:
        row = response_at(conn, sid, position)
        record = load_session(conn, sid)
    assert row is not None and record is not None
    assert row.answer == wrong and row.category == 0
    assert record.state.categories[-1] == 0  # the engine scored the first try
    assert record.practice is None
    stored = msgspec.json.decode(row.feedback or b"", type=Feedback)
    assert stored.second_try is not None and stored.second_try.answer == interaction.key
    assert stored.hints == item.hints[:2]
    # a late repeat of the second try is a replay of what was stored
    replay = answer(site, sid, view, interaction.key, attempt=2)
    assert replay["feedback"] == feedback


def test_practice_show_the_answer_and_right_first_tries(site: Site) -> None:
    assessment = new_assessment(site, "practice")
    compiled = compiled_of(site, assessment)
    item = hinted_item(compiled, 1)
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    wrong = next(o.id for o in interaction.options if o.id != interaction.key)
    view = start(site, assessment)
    sid = view["id"]
    view = pend(site, sid, compiled, item.id)
    answer(site, sid, view, wrong)
    revealed = site.client.post(
        f"/api/v1/sessions/{sid}/reveal",
        json={"item_id": item.id, "position": view["item"]["position"]},
    ).json()
    assert revealed["feedback"]["verdict"] == "wrong"
    assert revealed["feedback"]["second_try"] is None
    assert revealed["feedback"]["solution_html"]
    assert stored_rows(site, sid) == 1
    # a right first try is explained at once
    view = revealed["session"]
    next_item = compiled.items[view["item"]["id"]]
    right = raw_answer(next_item, category_count(next_item.irt) - 1, random.Random(0))
    body = answer(site, sid, view, right)
    assert body["feedback"]["verdict"] == "right"
    assert body.get("practice") is None


def test_practice_hints_and_second_try_through_the_pages(site: Site) -> None:
    assessment = new_assessment(site, "practice")
    compiled = compiled_of(site, assessment)
    item = hinted_item(compiled, 2)
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    wrong = next(o.id for o in interaction.options if o.id != interaction.key)
    r = site.client.post(
        f"/a/{assessment}/start", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    sid = r.headers["location"].rsplit("/", 1)[1]
    force_pending(site, sid, compiled.pool.item_ids.index(item.id))
    fields = form_fields(site.client.get(f"/s/{sid}").text)
    posted = site.client.post(
        f"/s/{sid}/answer",
        data={"_csrf_token": site.csrf(), **fields, "answer": shown(site, sid, item, wrong)},
        follow_redirects=False,
    )
    assert posted.headers["location"] == f"/s/{sid}"
    page = site.client.get(f"/s/{sid}").text
    assert page.count('<li class="prose"') == 1
    assert "Show another hint" in page
    hinted = site.client.post(
        f"/s/{sid}/hint",
        data={"_csrf_token": site.csrf(), "item_id": item.id, "position": fields["position"]},
        follow_redirects=False,
    )
    assert hinted.status_code == 303
    page = site.client.get(f"/s/{sid}").text
    assert page.count('<li class="prose"') == 2
    posted = site.client.post(
        f"/s/{sid}/answer",
        data={
            "_csrf_token": site.csrf(),
            **fields,
            "attempt": "2",
            "answer": shown(site, sid, item, interaction.key),
        },
        follow_redirects=False,
    )
    assert posted.headers["location"] == f"/s/{sid}/feedback/{fields['position']}"
    feedback = site.client.get(posted.headers["location"]).text
    assert "Your second try: right" in feedback
    assert "Hints you used" in feedback


def test_a_second_try_outside_practice_is_refused(site: Site) -> None:
    view = start(site)
    item = view["item"]
    refused = site.client.post(
        f"/api/v1/sessions/{view['id']}/responses",
        json={"item_id": item["id"], "position": item["position"], "answer": "x", "attempt": 2},
    )
    assert refused.status_code == 409
    hint = site.client.post(
        f"/api/v1/sessions/{view['id']}/hints",
        json={"item_id": item["id"], "position": item["position"]},
    )
    assert hint.status_code == 409


def test_a_held_practice_try_is_kept_when_time_runs_out(site: Site) -> None:
    assessment = new_assessment(site, "practice")
    compiled = compiled_of(site, assessment)
    item = hinted_item(compiled, 1)
    interaction = item.interaction
    assert isinstance(interaction, SingleChoice)
    wrong = next(o.id for o in interaction.options if o.id != interaction.key)
    view = start(site, assessment)
    sid = view["id"]
    view = pend(site, sid, compiled, item.id)
    answer(site, sid, view, wrong)
    with site.runtime.db.write() as conn:
        conn.execute(
            update(learner_sessions)
            .where(learner_sessions.c.id == sid)
            .values(deadline=datetime(2020, 1, 1, tzinfo=UTC))
        )
    finished = site.client.get(f"/api/v1/sessions/{sid}").json()
    assert finished["status"] == "finished"
    assert stored_rows(site, sid) == 1  # the held first try was stored, not lost
    with site.runtime.db.read() as conn:
        row = response_at(conn, sid, view["item"]["position"])
    assert row is not None and row.answer == wrong


def test_practice_results_never_count_toward_a_credential(site: Site) -> None:
    assessment = new_assessment(site, "practice")
    landing = site.client.get(f"/a/{assessment}").text
    assert "Practice never counts toward a credential" in landing
    compiled = compiled_of(site, assessment)
    view = start(site, assessment)
    sid = view["id"]
    rng = random.Random(8)
    while view["status"] == "in_progress":
        item = compiled.items[view["item"]["id"]]
        body = answer(site, sid, view, raw_answer(item, category_count(item.irt) - 1, rng))
        view = body["session"]
    assert view["result"]["practice"] is True
    assert view["result"]["counts_toward_credential"] is False
    report = site.client.get(f"/api/v1/sessions/{sid}/report").json()
    assert report["practice"] is True and report["counts_toward_credential"] is False
    page = site.client.get(f"/s/{sid}/result").text
    assert "Practice session." in page
    assert "never count toward a credential" in page


# --------------------------------------------------------------------------- report


def test_the_report_groups_misconceptions_and_says_what_to_study(site: Site) -> None:
    compiled = compiled_of(site)
    by_misconception: dict[str, list[tuple[Item, str]]] = {}
    for item in compiled.bank.items:
        interaction = item.interaction
        if isinstance(interaction, SingleChoice) and item.status == "operational":
            for option in interaction.options:
                if option.misconception and option.id != interaction.key:
                    by_misconception.setdefault(option.misconception, []).append((item, option.id))
                    break
    misconception, pairs = next((m, p) for m, p in by_misconception.items() if len(p) >= 2)
    view = start(site)
    sid = view["id"]
    positions = []
    for item, wrong in pairs[:2]:
        view = pend(site, sid, compiled, item.id)
        positions.append(view["item"]["position"])
        body = answer(site, sid, view, wrong)
        view = body["session"]
    rng = random.Random(1)
    while view["status"] == "in_progress":
        item = compiled.items[view["item"]["id"]]
        view = answer(site, sid, view, raw_answer(item, category_count(item.irt) - 1, rng))[
            "session"
        ]
    report = site.client.get(f"/api/v1/sessions/{sid}/report").json()
    seen = next(m for m in report["misconceptions"] if m["id"] == misconception)
    assert [q["position"] for q in seen["questions"]] == positions
    assert seen["resources"], "the sample bank has resources for every misconception"
    assert any(
        s["reason"] == "misconception" and s["subject"] == seen["name"]
        for s in report["study_next"]
    )
    assert len(report["competencies"]) == 4
    for competency in report["competencies"]:
        assert competency["score"] == round(500 + 100 * competency["theta"])
        assert sum(level["probability"] for level in competency["levels"]) == pytest.approx(
            1.0, abs=2e-4
        )
        assert competency["level"]["label"] in [lv["label"] for lv in competency["levels"]]
        assert competency["standing"] in ("strength", "gap", "unclear")
    assert len(report["path"]) == report["questions"] + 1
    assert report["path"][0]["estimates"][0]["score"] == 500  # the prior
    page = site.client.get(f"/s/{sid}/result").text
    assert page.count('class="interval"') == 4  # one row per competency in the ability chart
    assert page.count('role="img"') == 5  # the ability chart and four path charts
    assert "@media print" not in page  # the print stylesheet is in the static CSS
    css = site.client.get("/static/skillgauge.css").text
    assert "@media print" in css
