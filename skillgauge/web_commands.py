"""``skillgauge serve`` and ``skillgauge author ...``: run the web service, manage authors."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(commands: Any) -> None:
    """Add ``serve`` and ``author``."""
    serve = commands.add_parser(
        "serve",
        help="run the web service",
        description="Run the web service (settings from SKILLGAUGE_* environment variables; "
        "see README). The database is created and migrated on start.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load the sample bank, create a ready assessment on first start, print its URL "
        "and the demo author's token (kept under the data directory, renewed when it expires)",
    )
    serve.add_argument("--log-level", default="warning")
    serve.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default=os.environ.get("SKILLGAUGE_SERVER", "uvicorn"),
        help="the ASGI server (default uvicorn, or SKILLGAUGE_SERVER); granian, a Rust HTTP "
        "server, serves more requests per second from the same CPU (README: web load)",
    )
    serve.set_defaults(handler=_serve)

    author = commands.add_parser("author", help="manage author accounts")
    sub = author.add_subparsers(dest="author_command", required=True, metavar="SUBCOMMAND")
    create = sub.add_parser(
        "create", help="create an author (or add a token to one) and print a new token"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--label", default="cli", help="a note on what the token is for")
    create.add_argument(
        "--days", type=int, default=90, help="days until the token expires (1-3650; default 90)"
    )
    create.add_argument(
        "--org",
        help="the organisation (short name) the token acts in; the author joins it with --role "
        "if not a member. Without it: the author's first organisation, or a new one of their own",
    )
    create.add_argument(
        "--role",
        default="author",
        choices=("owner", "author", "reviewer", "psychometrician", "viewer"),
        help="the role when joining --org (default author)",
    )
    create.set_defaults(handler=_author_create)
    tokens = sub.add_parser(
        "tokens", help="list author tokens: id, author, label, created, expires, status"
    )
    tokens.add_argument("--email", help="only this author's tokens")
    tokens.set_defaults(handler=_author_tokens)
    revoke = sub.add_parser("revoke", help="revoke a token, by its id (from `tokens`) or whole")
    revoke.add_argument("token", help="the token id (8+ hex digits) or the token itself")
    revoke.set_defaults(handler=_author_revoke)


def _runtime() -> Any:
    from web.db.connection import Database
    from web.db.migrate import migrate
    from web.runtime import Runtime
    from web.settings import load_settings

    settings = load_settings()
    db = Database(settings.database_url)
    migrate(db)
    return Runtime(settings, db)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.demo import ensure_demo

    # Links shown to people point at this server unless a public URL is configured;
    # the variable is inherited by the worker processes.
    os.environ.setdefault("SKILLGAUGE_BASE_URL", f"http://{args.host}:{args.port}")
    rt = _runtime()
    if args.demo:
        info = ensure_demo(rt)
        print(f"Skillgauge is serving on {rt.settings.base_url}")
        print(f"  demo assessment: {info.assessment_url}")
        print(f"  author sign-in:  {rt.settings.base_url}/author/login")
        print(f"  author token:    {info.author_token}")
        print(f"  database:        {rt.settings.database_url}")
        if rt.settings.mail == "file":
            print(f"  learner mail:    {rt.settings.mail_dir} (one .eml file per message)")
    rt.db.dispose()
    if args.server == "granian":
        _serve_granian(args)
        return 0
    uvicorn.run(
        "web.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        proxy_headers=False,
        server_header=False,
    )
    return 0


def _serve_granian(args: argparse.Namespace) -> None:
    """Serve with granian: the same app, workers and port.

    No access log (so no request line, and no session key in one, is ever logged), and no
    proxy headers trusted, as with uvicorn.
    """
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        "web.asgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        websockets=False,
        log_level=LogLevels(args.log_level),
        log_access=False,
    ).serve()


def _author_create(args: argparse.Namespace) -> int:
    from web.authoring import create_author
    from web.store.authors import token_id

    rt = _runtime()
    try:
        author, token = create_author(
            rt, args.email, args.label, args.days, org=args.org, role=args.role
        )
    except ValueError as exc:
        print(f"skillgauge author create: {exc}")
        return 1
    finally:
        rt.db.dispose()
    print(f"author {author.email} (id {author.id}), {author.role} of {author.org_slug}")
    print(f"token: {token}")
    print(f"token id {token_id(token)}, expires in {args.days} days")
    print("Keep it safe: it is stored only as a hash and cannot be shown again.")
    return 0


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _author_tokens(args: argparse.Namespace) -> int:
    from web.store.authors import list_tokens

    rt = _runtime()
    try:
        with rt.db.read() as conn:
            listed = list_tokens(conn, email=args.email)
    finally:
        rt.db.dispose()
    if not listed:
        print("no tokens" + (f" for {args.email}" if args.email else ""))
        return 0
    rows = [("id", "author", "label", "created (UTC)", "expires (UTC)", "status")]
    rows += [
        (t.id, t.email, t.label, _when(t.created_at), _when(t.expires_at), t.status) for t in listed
    ]
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _author_revoke(args: argparse.Namespace) -> int:
    from web.store.authors import revoke_token

    rt = _runtime()
    try:
        with rt.db.write() as conn:
            revoked = revoke_token(conn, args.token)
    except ValueError as exc:
        print(f"skillgauge author revoke: {exc}")
        return 1
    finally:
        rt.db.dispose()
    if not revoked:
        print(f"skillgauge author revoke: no token {args.token!r}")
        return 1
    print(f"revoked token {revoked[0]}")
    return 0
