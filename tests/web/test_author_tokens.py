"""Author tokens expire, are listed and revoked (store, pages, API, CLI); the demo keeps its."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from skillgauge.cli import main
from tests.web.conftest import Site
from web.db.connection import utcnow
from web.db.schema import author_tokens
from web.demo import DEMO_EMAIL, DEMO_TOKEN_FILE, ensure_demo
from web.store import authors, orgs
from web.store.authors import hash_token, token_id


def expire(site: Site, token: str, days_ago: float = 1) -> None:
    with site.runtime.db.write() as conn:
        conn.execute(
            update(author_tokens)
            .where(author_tokens.c.token_hash == hash_token(token))
            .values(expires_at=utcnow() - timedelta(days=days_ago))
        )


def test_tokens_expire(site: Site) -> None:
    with site.runtime.db.write() as conn:
        author = authors.ensure_author(conn, "a@example.org")
        org = orgs.create_org(conn, "a-org", "A")
        orgs.add_member(conn, org.id, author.id, "author")
        token = authors.issue_token(conn, author.id, "test", days=3)
        (info,) = authors.list_tokens(conn, email="a@example.org")
    assert info.id == token_id(token) and info.status == "active"
    assert info.expires_at is not None
    assert timedelta(days=3) - (info.expires_at - info.created_at) < timedelta(seconds=1)
    with site.runtime.db.read() as conn:
        member = authors.author_for_token(conn, token)
        assert member is not None
        assert (member.id, member.email, member.org_id, member.role) == (
            author.id,
            author.email,
            org.id,
            "author",
        )
        later = utcnow() + timedelta(days=3, seconds=1)
        assert authors.author_for_token(conn, token, now=later) is None
        assert authors.token_status(conn, token, now=later) == "expired"
    with pytest.raises(ValueError, match="1 to 3650 days"), site.runtime.db.write() as conn:
        authors.issue_token(conn, author.id, "forever", days=100_000)


def test_an_expired_or_revoked_token_is_refused_and_says_why(site: Site) -> None:
    listed = site.client.get("/api/v1/author/assessments", headers=site.auth())
    assert listed.status_code == 200
    expire(site, site.token)
    refused = site.client.get("/api/v1/author/assessments", headers=site.auth())
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("this token has expired")
    login = site.client.post(
        "/author/login", data={"_csrf_token": site.csrf(), "token": site.token}
    )
    assert login.status_code == 401
    assert "This token has expired" in login.text
    with site.runtime.db.write() as conn:
        author = authors.ensure_author(conn, "b@example.org")
        token = authors.issue_token(conn, author.id, "b")
        assert authors.revoke_token(conn, token) == [token_id(token)]
    revoked = site.client.get(
        "/api/v1/author/assessments", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoked.status_code == 401 and revoked.json()["detail"] == "this token was revoked"


def test_revoking_a_token_signs_its_pages_out(site: Site) -> None:
    signed_in = site.client.post(
        "/author/login",
        data={"_csrf_token": site.csrf(), "token": site.token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert site.client.get("/author", follow_redirects=False).status_code == 200
    with site.runtime.db.write() as conn:
        authors.revoke_token(conn, token_id(site.token))
    page = site.client.get("/author", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/author/login"


def test_revoke_by_id_prefix(site: Site) -> None:
    with site.runtime.db.write() as conn:
        author = authors.ensure_author(conn, "c@example.org")
        tokens = [authors.issue_token(conn, author.id, f"t{n}") for n in range(3)]
        with pytest.raises(ValueError, match="at least 8 hex digits"):
            authors.revoke_token(conn, "abc")
        unknown = next(
            c * 12
            for c in "0123456789abcdef"
            if not any(hash_token(t).startswith(c * 12) for t in tokens)
        )
        assert authors.revoke_token(conn, unknown) == []  # no match revokes nothing
        assert authors.revoke_token(conn, hash_token(tokens[1])[:8]) == [token_id(tokens[1])]
        statuses = {t.id: t.status for t in authors.list_tokens(conn, email="c@example.org")}
    assert statuses == {
        token_id(tokens[0]): "active",
        token_id(tokens[1]): "revoked",
        token_id(tokens[2]): "active",
    }


def test_cli_creates_lists_and_revokes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKILLGAUGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SKILLGAUGE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SKILLGAUGE_SECRET_KEY", "cli-secret-" + "x" * 40)
    assert main(["author", "create", "--email", "Dora@Example.org", "--days", "5"]) == 0
    created = capsys.readouterr().out
    token = next(line.split()[1] for line in created.splitlines() if line.startswith("token:"))
    assert f"token id {token_id(token)}, expires in 5 days" in created
    assert main(["author", "tokens"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == [
        "id",
        "author",
        "label",
        "created",
        "(UTC)",
        "expires",
        "(UTC)",
        "status",
    ]
    (row,) = listing[1:]
    assert row.split()[:3] == [token_id(token), "dora@example.org", "cli"]
    assert row.split()[-1] == "active"
    assert token not in "\n".join(listing)  # a listing never shows a token
    assert main(["author", "revoke", token_id(token)]) == 0
    assert capsys.readouterr().out.strip() == f"revoked token {token_id(token)}"
    assert main(["author", "tokens", "--email", "dora@example.org"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "revoked"
    assert main(["author", "revoke", "0123456789ab"]) == 1
    assert "no token" in capsys.readouterr().out
    assert main(["author", "create", "--email", "e@example.org", "--days", "0"]) == 1


def test_the_demo_reuses_its_token_until_it_nears_expiry(site: Site) -> None:
    again = ensure_demo(site.runtime)
    assert again.author_token == site.token  # the same token on every start
    path = Path(site.runtime.settings.data_dir) / DEMO_TOKEN_FILE
    assert path.read_text(encoding="ascii") == site.token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with site.runtime.db.read() as conn:
        demo_tokens = authors.list_tokens(conn, email=DEMO_EMAIL)
    assert len(demo_tokens) == 1
    expire(site, site.token, days_ago=-3)  # three days left: renewed
    renewed = ensure_demo(site.runtime).author_token
    assert renewed != site.token
    with site.runtime.db.write() as conn:
        authors.revoke_token(conn, renewed)
    replaced = ensure_demo(site.runtime).author_token
    assert replaced not in (renewed, site.token)
    assert ensure_demo(site.runtime).author_token == replaced
    with site.runtime.db.read() as conn:
        assert authors.author_for_token(conn, replaced) is not None
