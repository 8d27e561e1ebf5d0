"""Organisations, their members and roles.

An organisation is an issuer: it owns what its members make (every owned table carries an
``org_id``; bank versions are held through ``org_bank_versions``) and signs its credentials
with its own keys (``keys_dir`` under the data directory). A member has one role in it; the
last owner cannot be removed or demoted.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, get_args

import msgspec
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy import delete as sql_delete

from web.db.connection import as_utc, utcnow
from web.db.schema import author_tokens, authors, memberships, organisations

Role = Literal["owner", "author", "reviewer", "psychometrician", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class OrgError(ValueError):
    """An organisation or membership change that cannot be made (the message says why)."""


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation and its issuer profile."""

    id: int
    slug: str
    name: str
    url: str = ""
    email: str = ""
    image: str = ""
    description: str = ""
    keys_dir: str
    legacy_issuer: bool = False


class MemberInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A member as listed to owners."""

    membership_id: int
    author_id: int
    email: str
    role: Role
    created_at: datetime | None


def _org(row: object) -> Organisation:
    return Organisation(
        id=row.id,  # type: ignore[attr-defined]
        slug=row.slug,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        url=row.url,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        image=row.image,  # type: ignore[attr-defined]
        description=row.description,  # type: ignore[attr-defined]
        keys_dir=row.keys_dir,  # type: ignore[attr-defined]
        legacy_issuer=bool(row.legacy_issuer),  # type: ignore[attr-defined]
    )


def check_role(role: str) -> Role:
    """``role`` if it is one of :data:`ROLES`, else :class:`OrgError`."""
    if role not in ROLES:
        raise OrgError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return role


def create_org(
    conn: Connection, slug: str, name: str, *, url: str = "", email: str = "", description: str = ""
) -> Organisation:
    """A new organisation with its own key directory (``keys/orgs/<slug>``)."""
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise OrgError(
            f"{slug!r} is not a usable short name: 1-40 lower-case letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )
    if not name.strip() or len(name) > 200:
        raise OrgError("an organisation's name is 1 to 200 characters")
    if get_by_slug(conn, slug) is not None:
        raise OrgError(f"an organisation {slug!r} exists already")
    new_id = conn.execute(
        insert(organisations)
        .values(
            slug=slug,
            name=name.strip(),
            url=url,
            email=email,
            image="",
            description=description,
            keys_dir=f"keys/orgs/{slug}",
            legacy_issuer=False,
            created_at=utcnow(),
        )
        .returning(organisations.c.id)
    ).scalar_one()
    org = get(conn, int(new_id))
    assert org is not None
    return org


def get(conn: Connection, org_id: int) -> Organisation | None:
    """The organisation with ``org_id``."""
    row = conn.execute(select(organisations).where(organisations.c.id == org_id)).first()
    return None if row is None else _org(row)


def get_by_slug(conn: Connection, slug: str) -> Organisation | None:
    """The organisation with short name ``slug``."""
    row = conn.execute(select(organisations).where(organisations.c.slug == slug)).first()
    return None if row is None else _org(row)


def legacy(conn: Connection) -> Organisation | None:
    """The organisation that kept the single-issuer service's identity, if any."""
    row = conn.execute(
        select(organisations).where(organisations.c.legacy_issuer.is_(True)).limit(1)
    ).first()
    return None if row is None else _org(row)


def list_orgs(conn: Connection) -> list[Organisation]:
    """Every organisation, oldest first."""
    rows = conn.execute(select(organisations).order_by(organisations.c.id)).all()
    return [_org(r) for r in rows]


class ProfileUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An owner's change to the issuer profile (every field optional)."""

    name: str | None = None
    url: str | None = None
    email: str | None = None
    image: str | None = None
    description: str | None = None


def update_profile(conn: Connection, org_id: int, change: ProfileUpdate) -> Organisation:
    """Change the issuer profile (the organisation is given by the caller's membership)."""
    values = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not None}
    if "name" in values and not 1 <= len(values["name"].strip()) <= 200:
        raise OrgError("an organisation's name is 1 to 200 characters")
    for field in ("url", "image"):
        if values.get(field) and not str(values[field]).startswith(("https://", "http://")):
            raise OrgError(f"{field}: give an http(s) URL")
    if values:
        conn.execute(update(organisations).where(organisations.c.id == org_id).values(**values))
    org = get(conn, org_id)
    assert org is not None
    return org


# -- members -------------------------------------------------------------------------------


def membership_of(conn: Connection, org_id: int, author_id: int) -> int | None:
    """The membership id of ``author_id`` in ``org_id``."""
    value = conn.execute(
        select(memberships.c.id)
        .where(memberships.c.org_id == org_id)
        .where(memberships.c.author_id == author_id)
    ).scalar_one_or_none()
    return None if value is None else int(value)


def first_membership(conn: Connection, author_id: int) -> int | None:
    """The author's oldest membership (the default a token acts as)."""
    value = conn.execute(
        select(memberships.c.id)
        .where(memberships.c.author_id == author_id)
        .order_by(memberships.c.id)
        .limit(1)
    ).scalar_one_or_none()
    return None if value is None else int(value)


def add_member(conn: Connection, org_id: int, author_id: int, role: str) -> int:
    """Add ``author_id`` to the organisation with ``role`` (or change its role); its id."""
    role = check_role(role)
    existing = membership_of(conn, org_id, author_id)
    if existing is not None:
        set_role(conn, org_id, existing, role)
        return existing
    new_id = conn.execute(
        insert(memberships)
        .values(org_id=org_id, author_id=author_id, role=role, created_at=utcnow())
        .returning(memberships.c.id)
    ).scalar_one()
    return int(new_id)


def _owners(conn: Connection, org_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(memberships)
            .where(memberships.c.org_id == org_id)
            .where(memberships.c.role == "owner")
        ).scalar_one()
    )


def _role_of(conn: Connection, org_id: int, membership_id: int) -> str:
    role = conn.execute(
        select(memberships.c.role)
        .where(memberships.c.id == membership_id)
        .where(memberships.c.org_id == org_id)
    ).scalar_one_or_none()
    if role is None:
        raise OrgError("no such member")
    return str(role)


def set_role(conn: Connection, org_id: int, membership_id: int, role: str) -> None:
    """Change a member's role; the last owner stays an owner."""
    role = check_role(role)
    current = _role_of(conn, org_id, membership_id)
    if current == "owner" and role != "owner" and _owners(conn, org_id) <= 1:
        raise OrgError("the last owner cannot be demoted; make another member owner first")
    conn.execute(update(memberships).where(memberships.c.id == membership_id).values(role=role))


def remove_member(conn: Connection, org_id: int, membership_id: int) -> None:
    """Remove a member (their tokens for this organisation stop working)."""
    current = _role_of(conn, org_id, membership_id)
    if current == "owner" and _owners(conn, org_id) <= 1:
        raise OrgError("the last owner cannot be removed; make another member owner first")
    conn.execute(
        update(author_tokens)
        .where(author_tokens.c.membership_id == membership_id)
        .where(author_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    conn.execute(
        update(author_tokens)
        .where(author_tokens.c.membership_id == membership_id)
        .values(membership_id=None)
    )
    conn.execute(sql_delete(memberships).where(memberships.c.id == membership_id))


def list_members(conn: Connection, org_id: int) -> list[MemberInfo]:
    """The organisation's members, oldest first."""
    rows = conn.execute(
        select(
            memberships.c.id,
            memberships.c.author_id,
            authors.c.email,
            memberships.c.role,
            memberships.c.created_at,
        )
        .join(authors, authors.c.id == memberships.c.author_id)
        .where(memberships.c.org_id == org_id)
        .order_by(memberships.c.id)
    ).all()
    return [
        MemberInfo(
            membership_id=r.id,
            author_id=r.author_id,
            email=r.email,
            role=r.role,
            created_at=as_utc(r.created_at),
        )
        for r in rows
    ]
