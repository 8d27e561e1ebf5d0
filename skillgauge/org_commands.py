"""``skillgauge org create|list|invite|members``: organisations from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from skillgauge.web_commands import _runtime


def register(commands: Any) -> None:
    """Add ``org``."""
    org = commands.add_parser("org", help="manage organisations (issuers) and their members")
    sub = org.add_subparsers(dest="org_command", required=True, metavar="SUBCOMMAND")
    create = sub.add_parser(
        "create", help="create an organisation with its first owner, and print the owner's token"
    )
    create.add_argument("slug", help="short name: lower-case letters, digits, hyphens")
    create.add_argument("--name", required=True, help="the issuer name credentials show")
    create.add_argument("--owner", required=True, help="the first owner's email")
    create.add_argument("--url", default="", help="the organisation's web site")
    create.set_defaults(handler=_create)
    listing = sub.add_parser("list", help="list organisations: short name, name, issuer id")
    listing.set_defaults(handler=_list)
    invite = sub.add_parser("invite", help="mail a single-use invitation link (7 days)")
    invite.add_argument("slug")
    invite.add_argument("--email", required=True)
    invite.add_argument(
        "--role",
        default="viewer",
        choices=("owner", "author", "reviewer", "psychometrician", "viewer"),
    )
    invite.set_defaults(handler=_invite)
    members = sub.add_parser("members", help="list an organisation's members and roles")
    members.add_argument("slug")
    members.set_defaults(handler=_members)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _create(args: argparse.Namespace) -> int:
    from web.authoring import create_author
    from web.store import audit
    from web.store import orgs as org_store

    rt = _runtime()
    try:
        with rt.db.write() as conn:
            org = org_store.create_org(conn, args.slug, args.name, url=args.url)
            audit.record(conn, org.id, None, "command line", "org.create", org.slug, org.name)
        owner, token = create_author(rt, args.owner, "org create", org=org.slug, role="owner")
    except ValueError as exc:
        print(f"skillgauge org create: {exc}")
        return 1
    finally:
        rt.db.dispose()
    print(f"organisation {org.slug} ({org.name}), id {org.id}")
    print(f"owner {owner.email}; token: {token}")
    print("Keep the token safe: it is stored only as a hash and cannot be shown again.")
    return 0


def _list(args: argparse.Namespace) -> int:
    del args
    from web.credentials.issuer import did_web
    from web.store import orgs as org_store

    rt = _runtime()
    try:
        with rt.db.read() as conn:
            listed = org_store.list_orgs(conn)
            counts = {o.id: len(org_store.list_members(conn, o.id)) for o in listed}
    finally:
        rt.db.dispose()
    if not listed:
        print("no organisations (skillgauge org create)")
        return 0
    rows = [("short name", "name", "members", "issuer")]
    rows += [
        (o.slug, o.name, str(counts[o.id]), did_web(rt.settings.base_url, "orgs", o.slug))
        for o in listed
    ]
    _print_table(rows)
    return 0


def _org_owner(conn: Any, slug: str) -> Any:
    from web.store import orgs as org_store
    from web.store.authors import Member

    org = org_store.get_by_slug(conn, slug)
    if org is None:
        raise ValueError(f"no organisation {slug!r} (skillgauge org list)")
    owners = [m for m in org_store.list_members(conn, org.id) if m.role == "owner"]
    if not owners:
        raise ValueError(f"{slug} has no owner")
    first = owners[0]
    return Member(
        first.author_id,
        first.email,
        org_id=org.id,
        org_slug=org.slug,
        role="owner",
        membership_id=first.membership_id,
    )


def _invite(args: argparse.Namespace) -> int:
    from web.orgs import service

    rt = _runtime()
    try:
        with rt.db.read() as conn:
            owner = _org_owner(conn, args.slug)
        sent = service.invite(rt, owner, service.InvitationCreate(email=args.email, role=args.role))
    except ValueError as exc:
        print(f"skillgauge org invite: {exc}")
        return 1
    finally:
        rt.db.dispose()
    print(
        f"invited {sent.email} to {args.slug} as {sent.role}; "
        f"the link expires {sent.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    print("(sent in the name of the first owner, through the configured mail sender)")
    return 0


def _members(args: argparse.Namespace) -> int:
    from web.store import orgs as org_store

    rt = _runtime()
    try:
        with rt.db.read() as conn:
            org = org_store.get_by_slug(conn, args.slug)
            listed = org_store.list_members(conn, org.id) if org is not None else None
    finally:
        rt.db.dispose()
    if listed is None:
        print(f"skillgauge org members: no organisation {args.slug!r}")
        return 1
    rows = [("member id", "email", "role", "since (UTC)")]
    rows += [
        (
            str(m.membership_id),
            m.email,
            m.role,
            m.created_at.strftime("%Y-%m-%d %H:%M") if m.created_at else "-",
        )
        for m in listed
    ]
    _print_table(rows)
    return 0
