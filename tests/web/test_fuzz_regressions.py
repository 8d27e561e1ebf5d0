"""What the API fuzzer found (tests/web/test_fuzz.py), kept as regression tests, both databases."""

from __future__ import annotations

import pytest

from tests.web.conftest import Site


@pytest.mark.parametrize("value", ["282629531263153078272", "2147483648", "-1"])
def test_a_status_list_number_beyond_the_column_is_a_400_problem(
    any_site: Site, value: str
) -> None:
    # PostgreSQL answered 500 (integer out of range) for 282629531263153078272
    reply = any_site.client.get(f"/status-lists/{value}")
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["status"] == 400


def test_a_status_list_path_no_route_matches_answers_problem_json(any_site: Site) -> None:
    # a float matched no route, and the 404 came back as an HTML page beside JSON documents
    reply = any_site.client.get("/status-lists/4.8628238610598054e-32")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"


def test_a_feedback_position_beyond_the_column_is_refused(any_site: Site) -> None:
    sid = any_site.client.post(
        f"/api/v1/assessments/{any_site.assessment_id}/sessions", json={}
    ).json()["id"]
    reply = any_site.client.get(f"/s/{sid}/feedback/99999999999999999999")
    assert reply.status_code == 400
    assert "text/html" in reply.headers["content-type"]


def test_problem_responses_are_documented_with_their_media_type(any_site: Site) -> None:
    schema = any_site.client.get("/schema/openapi.json").json()
    upload = schema["paths"]["/api/v1/author/banks"]["post"]["responses"]
    for status in ("400", "401", "404", "413", "415", "422"):
        assert "application/problem+json" in upload[status]["content"], status
    issuer = schema["paths"]["/issuer"]["get"]["responses"]["200"]["content"]
    assert issuer["application/ld+json"]["schema"]["type"] == "object"
