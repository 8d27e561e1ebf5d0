"""``skillgauge org create|list|invite|members`` and ``author create --org``."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillgauge.cli import main


def test_org_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKILLGAUGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SKILLGAUGE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SKILLGAUGE_SECRET_KEY", "cli-secret-" + "x" * 40)
    monkeypatch.setenv("SKILLGAUGE_MAIL_DIR", str(tmp_path / "outbox"))
    assert main(["org", "list"]) == 0
    assert "no organisations" in capsys.readouterr().out
    assert (
        main(["org", "create", "acme", "--name", "Acme Training", "--owner", "boss@acme.example"])
        == 0
    )
    created = capsys.readouterr().out
    assert "organisation acme (Acme Training)" in created and "token: sgt_" in created
    assert main(["org", "create", "acme", "--name", "Again", "--owner", "x@acme.example"]) == 1
    assert "exists already" in capsys.readouterr().out
    assert main(["org", "create", "Bad Name", "--name", "B", "--owner", "x@b.example"]) == 1
    assert "short name" in capsys.readouterr().out
    assert main(["author", "create", "--email", "ed@acme.example", "--org", "acme"]) == 0
    assert "author of acme" in capsys.readouterr().out
    assert main(["author", "create", "--email", "solo@else.example"]) == 0
    assert "owner of solo" in capsys.readouterr().out  # a new author gets an org of their own
    assert (
        main(["org", "invite", "acme", "--email", "rita@acme.example", "--role", "reviewer"]) == 0
    )
    assert "invited rita@acme.example to acme as reviewer" in capsys.readouterr().out
    mails = list((tmp_path / "outbox").glob("*.eml"))
    assert len(mails) == 1 and "/invitations/" in mails[0].read_text()
    assert main(["org", "members", "acme"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["member", "id", "email"]
    assert [line.split()[1:3] for line in lines[1:]] == [
        ["boss@acme.example", "owner"],
        ["ed@acme.example", "author"],
    ]
    assert main(["org", "list"]) == 0
    listing = capsys.readouterr().out
    assert "did:web:127.0.0.1%3A8000:orgs:acme" in listing and "solo" in listing
    assert main(["org", "members", "nope"]) == 1
    assert main(["keys", "list", "--org", "acme"]) == 0
    before = capsys.readouterr().out
    assert main(["keys", "rotate", "--org", "acme"]) == 0
    assert "retired" in capsys.readouterr().out
    assert main(["keys", "list", "--org", "acme"]) == 0
    after = capsys.readouterr().out
    assert after.count("retired") == 2 and before.count("active") == 2
    assert (tmp_path / "keys" / "orgs" / "acme" / "manifest.json").exists()
