"""The isolation walk: every author page and API route, taken from the app's route table, as a
member of another organisation and as each role inside the owning one.

A new route is walked without anyone listing it: the table below only gives the request
bodies of routes that need one, and a route missing from it fails the walk, naming it.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute

from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from tests.orgs.conftest import LMS_PLATFORM, TwoOrgs
from web.authoring import create_author
from web.demo import DEMO_ACHIEVEMENT
from web.orgs.guard import authorize
from web.orgs.roles import ACTIONS, allowed
from web.store.orgs import ROLES

AUTHOR_PREFIXES = ("/author", "/api/v1/author")
SAFE = {"GET", "HEAD", "OPTIONS"}
PARAM = re.compile(r"\{(\w+):\w+\}")


def _bank() -> tuple[str, bytes]:
    """Another version of the demo bank (uploading it makes nothing of org A's visible)."""
    bank = msgspec.structs.replace(read_bank(sample_bank_path()), version="9.9-walk")
    return ("bank.json", msgspec.json.encode(bank))


def body_for(method: str, path: str, ids: dict[str, str]) -> dict[str, Any] | None:
    """The request body (``json``/``data``/``files``/``params``/``content``) of a writing route."""
    achievement = msgspec.to_builtins(DEMO_ACHIEVEMENT)
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/author/banks"): {
            "params": {"filename": "bank.json"},
            "content": _bank()[1],
        },
        ("POST", "/api/v1/author/assessments"): {
            "json": {"title": "Walk", "bank_hash": ids["digest"]}
        },
        ("PUT", "/api/v1/author/assessments/{assessment_id:str}/achievement"): {
            "json": achievement
        },
        ("POST", "/api/v1/author/credentials/{credential_id:str}/revoke"): {"json": {}},
        ("POST", "/api/v1/author/webhooks"): {"json": {"url": "https://receiver.example/other"}},
        ("POST", "/api/v1/author/webhooks/{endpoint_id:str}/enable"): {},
        (
            "POST",
            "/api/v1/author/webhooks/{endpoint_id:str}/messages/{message_id:str}/redeliver",
        ): {},
        (
            "POST",
            "/api/v1/author/assessments/{assessment_id:str}/integrity/{person:str}/release",
        ): {},
        ("POST", "/api/v1/author/assessments/{assessment_id:str}/integrity/{person:str}/refuse"): {
            "json": {"note": "walk"}
        },
        ("POST", "/api/v1/author/lti/platforms"): {"json": LMS_PLATFORM},
        ("PATCH", "/api/v1/author/org"): {"json": {"description": "Walked."}},
        ("PUT", "/api/v1/author/org/members/{membership_id:int}/role"): {
            "json": {"role": "reviewer"}
        },
        ("DELETE", "/api/v1/author/org/members/{membership_id:int}"): {},
        ("POST", "/api/v1/author/org/invitations"): {
            "json": {"email": "invited@walk.example", "role": "viewer"}
        },
        ("POST", "/api/v1/author/org/keys/rotate"): {},
        ("POST", "/api/v1/author/shares"): {
            "json": {"bank_hash": ids["digest"], "organisation": ids["third_org"]}
        },
        ("POST", "/api/v1/author/shares/{share_id:int}/withdraw"): {},
        ("POST", "/author/org/profile"): {"data": {"description": "Walked."}},
        ("POST", "/author/org/members/{membership_id:int}/role"): {"data": {"role": "reviewer"}},
        ("POST", "/author/org/members/{membership_id:int}/remove"): {"data": {}},
        ("POST", "/author/org/invitations"): {
            "data": {"email": "invited@walk.example", "role": "viewer"}
        },
        ("POST", "/author/org/keys/rotate"): {"data": {}},
        ("POST", "/author/lti"): {"data": {**LMS_PLATFORM, "deployment_ids": "1"}},
        ("POST", "/author/banks/upload"): {"files": {"bank": _bank()}},
        ("POST", "/author/assessments"): {"data": {"bank_hash": ids["digest"], "title": "Walk"}},
        ("POST", "/author/assessments/{assessment_id:str}/status"): {"data": {"status": "open"}},
        ("POST", "/author/assessments/{assessment_id:str}/credential"): {
            "data": {"name": "Walk", "description": "Walk"}
        },
        ("POST", "/author/credentials/{credential_id:str}/revoke"): {"data": {"reason": "walk"}},
        ("POST", "/author/webhooks"): {"data": {"url": "https://receiver.example/other"}},
        ("POST", "/author/webhooks/{endpoint_id:str}/status"): {"data": {"status": "active"}},
        (
            "POST",
            "/author/webhooks/{endpoint_id:str}/messages/{message_id:str}/redeliver",
        ): {"data": {}},
        ("POST", "/author/assessments/{assessment_id:str}/integrity/{person:str}/decision"): {
            "data": {"decision": "refuse", "note": "walk"}
        },
    }
    return bodies.get((method, path))


def author_routes(orgs: TwoOrgs) -> list[tuple[str, str, Any]]:
    """(method, path template, handler) of every author page and API route."""
    found = []
    for route in orgs.site.client.app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(AUTHOR_PREFIXES):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method in ("HEAD", "OPTIONS"):
                continue
            found.append((method, route.path, handler))
    return sorted(found, key=lambda r: (r[0] == "DELETE", r[1], r[0]))  # removals last


def _removes_a_member(method: str, path: str) -> bool:
    return "/members/" in path and (method == "DELETE" or path.endswith("/remove"))


def _call(orgs: TwoOrgs, method: str, path: str, who: str) -> Any:
    site = orgs.site
    ids = dict(orgs.ids)
    if _removes_a_member(method, path) and who != "other":  # each removal takes a fresh member
        spare, _ = create_author(
            site.runtime, f"spare-{secrets.token_hex(4)}@demo.example", org="demo", role="viewer"
        )
        ids["membership_id"] = str(spare.membership_id)
    url = PARAM.sub(lambda m: ids[m.group(1)], path)
    kwargs = dict(body_for(method, path, orgs.ids) or {})
    headers = orgs.bearer(who)
    if method not in SAFE and not path.startswith("/api/"):
        kwargs.setdefault("data", {})
        kwargs["data"] = {**kwargs["data"], "_csrf_token": site.csrf()}
    return site.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)


def test_every_author_route_is_guarded_and_declares_a_known_action(two_orgs: TwoOrgs) -> None:
    routes = author_routes(two_orgs)
    assert len(routes) >= 40  # the walk sees the whole table, not a part of it
    for method, path, handler in routes:
        where = f"{method} {path}"
        assert authorize in handler.resolve_guards(), f"{where} is not guarded"
        assert handler.opt.get("action") in ACTIONS, f"{where} declares no known action"
        if method not in SAFE and handler.opt["action"] != "public":
            assert body_for(method, path, two_orgs.ids) is not None, (
                f"{where}: give its request body in body_for so the walk can call it"
            )


def test_another_organisation_gets_404_for_every_object_and_sees_none_in_lists(
    two_orgs: TwoOrgs,
) -> None:
    ids = two_orgs.ids
    checked = 0
    for method, path, handler in author_routes(two_orgs):
        if handler.opt["action"] == "public":
            continue
        reply = _call(two_orgs, method, path, "other")
        where = f"{method} {path}"
        if PARAM.search(path) or (
            method not in SAFE and "bank_hash" in str(body_for(method, path, ids))
        ):
            assert reply.status_code == 404, f"{where}: {reply.status_code} {reply.text[:300]}"
            checked += 1
        else:
            assert reply.status_code < 500, f"{where}: {reply.status_code} {reply.text[:300]}"
        if reply.status_code != 404:  # a 404 problem names the path asked for, nothing more
            for name, value in ids.items():
                if len(value) >= 8:  # random ids (small integers appear in any text)
                    assert value not in reply.text, f"{where} shows org A's {name}"
    assert checked >= 25


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_what_its_capabilities_leave_out(
    two_orgs: TwoOrgs, role: str
) -> None:
    for method, path, handler in author_routes(two_orgs):
        action = handler.opt["action"]
        if action == "public":
            continue
        reply = _call(two_orgs, method, path, role)
        where = f"{role}: {method} {path}"
        if allowed(role, action):
            assert reply.status_code not in (401, 403, 404), (
                f"{where}: {reply.status_code} {reply.text[:300]}"
            )
            assert reply.status_code < 500, f"{where}: {reply.status_code} {reply.text[:300]}"
        else:
            assert reply.status_code == 403, f"{where}: {reply.status_code} {reply.text[:300]}"
            assert f"({role})" in reply.text


def test_the_capability_table_follows_the_issue() -> None:
    assert allowed("owner", "org.manage") and allowed("owner", "audit.read")
    assert allowed("author", "bank.upload") and allowed("author", "assessment.manage")
    assert not allowed("author", "credential.revoke") and not allowed("author", "org.manage")
    assert allowed("reviewer", "award.decide") and allowed("reviewer", "credential.revoke")
    assert not allowed("reviewer", "bank.upload")
    assert allowed("psychometrician", "responses.export")
    assert not allowed("psychometrician", "award.decide")
    assert not any(
        allowed("viewer", a) for a in ACTIONS if not a.endswith(".read") and a != "public"
    )
    assert not allowed("viewer", "audit.read") and not allowed("nobody", "bank.read")
