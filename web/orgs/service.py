"""What owners and members do with their organisation.

Profile, members and roles, invitations, key rotation, the audit log, and sharing bank
versions with other organisations.

Every function takes the acting :class:`~web.store.authors.Member`; the organisation acted on
is always the member's own (never one named by the client), and every change is written to
the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta
from sqlalchemy import insert, select, update

from web.credentials.awards import org_issuer
from web.db.connection import as_utc, utcnow
from web.db.schema import bank_shares, invitations
from web.errors import ConflictError, InvalidInputError, NotFoundError
from web.mail import Mail, sender_for
from web.runtime import Runtime
from web.store import audit
from web.store import authors as author_store
from web.store import banks as bank_store
from web.store import orgs as org_store
from web.store.authors import Member
from web.store.orgs import MemberInfo, Organisation, OrgError, ProfileUpdate, Role

INVITATION_DAYS = 7
Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Digest = Annotated[str, Meta(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]


class OrgView(msgspec.Struct, frozen=True, kw_only=True):
    """The member's organisation as its members see it."""

    slug: str
    name: str
    url: str
    email: str
    image: str
    description: str
    issuer_id: str
    did_document: str
    your_role: str


class RoleChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A member's new role."""

    role: Role


class InvitationCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Invite someone by email to a role."""

    email: Email
    role: Role = "viewer"


class InvitationSent(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation sent (the link goes only to the invited address)."""

    email: str
    role: str
    expires_at: datetime


class ShareCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Share a bank version the organisation holds with another organisation."""

    bank_hash: Digest
    organisation: Annotated[str, Meta(min_length=1, max_length=40)]
    with_keys: bool = False


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """A share, given or received."""

    id: int
    bank_hash: str
    from_organisation: str
    to_organisation: str
    with_keys: bool
    created_at: datetime
    withdrawn_at: datetime | None


def _org(rt: Runtime, member: Member) -> Organisation:
    with rt.db.read() as conn:
        org = org_store.get(conn, member.org_id)
    if org is None:  # pragma: no cover - a membership always has its organisation
        raise NotFoundError("no such organisation")
    return org


def view(rt: Runtime, member: Member) -> OrgView:
    """The member's organisation and its issuer identity."""
    with rt.db.read() as conn:
        org = org_store.get(conn, member.org_id)
        assert org is not None
        issuer = org_issuer(rt, conn, org.id)
    return OrgView(
        slug=org.slug,
        name=org.name,
        url=org.url,
        email=org.email,
        image=org.image,
        description=org.description,
        issuer_id=issuer.id,
        did_document=f"{issuer.profile_url}/did.json",
        your_role=member.role,
    )


def update_profile(rt: Runtime, member: Member, change: ProfileUpdate) -> OrgView:
    """Change the issuer profile (name, URL, email, image, description)."""
    with rt.db.write() as conn:
        try:
            org_store.update_profile(conn, member.org_id, change)
        except OrgError as exc:
            raise InvalidInputError("the profile cannot be saved", [str(exc)]) from None
        changed = ", ".join(k for k, v in msgspec.structs.asdict(change).items() if v is not None)
        audit.record(
            conn, member.org_id, member.id, member.email, "org.profile", member.org_slug, changed
        )
    return view(rt, member)


def members(rt: Runtime, member: Member) -> list[MemberInfo]:
    """The organisation's members and roles."""
    with rt.db.read() as conn:
        return org_store.list_members(conn, member.org_id)


def set_role(rt: Runtime, member: Member, membership_id: int, role: Role) -> list[MemberInfo]:
    """Change a member's role (the last owner stays owner)."""
    with rt.db.write() as conn:
        try:
            org_store.set_role(conn, member.org_id, membership_id, role)
        except OrgError as exc:
            if "no such member" in str(exc):
                raise NotFoundError("no such member") from None
            raise ConflictError(str(exc)) from None
        audit.record(
            conn, member.org_id, member.id, member.email, "member.role", str(membership_id), role
        )
    return members(rt, member)


def remove(rt: Runtime, member: Member, membership_id: int) -> list[MemberInfo]:
    """Remove a member; their tokens for this organisation stop working."""
    with rt.db.write() as conn:
        try:
            org_store.remove_member(conn, member.org_id, membership_id)
        except OrgError as exc:
            if "no such member" in str(exc):
                raise NotFoundError("no such member") from None
            raise ConflictError(str(exc)) from None
        audit.record(
            conn, member.org_id, member.id, member.email, "member.remove", str(membership_id)
        )
    return members(rt, member)


def rotate_keys(rt: Runtime, member: Member) -> list[str]:
    """Retire the organisation's signing keys and make new ones (earlier credentials verify)."""
    with rt.db.read() as conn:
        issuer = org_issuer(rt, conn, member.org_id)
    retired = issuer.keys.rotate()
    with rt.db.write() as conn:
        audit.record(
            conn,
            member.org_id,
            member.id,
            member.email,
            "keys.rotate",
            member.org_slug,
            "retired " + ", ".join(retired),
        )
    return retired


def audit_events(rt: Runtime, member: Member) -> list[audit.AuditEvent]:
    """The organisation's newest audit entries."""
    with rt.db.read() as conn:
        return audit.events(conn, member.org_id)


def audit_csv(rt: Runtime, member: Member) -> Iterator[str]:
    """The organisation's whole audit log as CSV (streamed)."""

    def chunks() -> Iterator[str]:
        with rt.db.read() as conn:
            yield from audit.export_csv(conn, member.org_id)

    return chunks()


# -- invitations ---------------------------------------------------------------------------


def _invitation_hash(secret_key: str, token: str) -> str:
    key = hashlib.sha256(b"skillgauge invitation\x00" + secret_key.encode("utf-8")).digest()
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def invite(rt: Runtime, member: Member, request: InvitationCreate) -> InvitationSent:
    """Mail a signed, single-use link that makes ``email`` a member with ``role``.

    Only a keyed hash of the link's token is stored; the link expires after
    :data:`INVITATION_DAYS` days and works once.
    """
    org = _org(rt, member)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(days=INVITATION_DAYS)
    email = request.email.strip().lower()
    with rt.db.write() as conn:
        conn.execute(
            insert(invitations).values(
                token_hash=_invitation_hash(rt.settings.secret_key, token),
                org_id=member.org_id,
                email=email,
                role=request.role,
                invited_by=member.id,
                created_at=now,
                expires_at=expires,
            )
        )
        audit.record(
            conn, member.org_id, member.id, member.email, "invitation.send", email, request.role
        )
    link = f"{rt.settings.base_url}/invitations/{token}"
    sender = rt.services.get("mail") or sender_for(rt.settings)
    sender.send(
        Mail(
            to=email,
            subject=f"Join {org.name} on Skillgauge",
            body=(
                f"{member.email} invites you to {org.name} as {request.role}.\n\n"
                f"Accept within {INVITATION_DAYS} days (the link works once):\n{link}\n\n"
                "If you did not expect this, ignore this message.\n"
            ),
        )
    )
    return InvitationSent(email=email, role=request.role, expires_at=expires)


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation as its link's page shows it."""

    organisation: str
    email: str
    role: str
    expires_at: datetime


def _pending(rt: Runtime, token: str) -> tuple[str, Invitation, int]:
    if not 20 <= len(token) <= 100:
        raise NotFoundError("this invitation link is not valid")
    digest = _invitation_hash(rt.settings.secret_key, token)
    with rt.db.read() as conn:
        row = conn.execute(select(invitations).where(invitations.c.token_hash == digest)).first()
        org = org_store.get(conn, row.org_id) if row is not None else None
    if row is None or org is None:
        raise NotFoundError("this invitation link is not valid")
    if row.used_at is not None:
        raise ConflictError("this invitation was used already")
    expires = as_utc(row.expires_at) or utcnow()
    if utcnow() >= expires:
        raise ConflictError("this invitation has expired; ask for a new one")
    return (
        digest,
        Invitation(organisation=org.name, email=row.email, role=row.role, expires_at=expires),
        org.id,
    )


def invitation(rt: Runtime, token: str) -> Invitation:
    """The pending invitation of a link (404 unknown, 409 used or expired)."""
    return _pending(rt, token)[1]


def accept(rt: Runtime, token: str) -> tuple[Invitation, str]:
    """Accept an invitation once: the invited address becomes a member; returns its token."""
    digest, found, org_id = _pending(rt, token)
    with rt.db.write() as conn:
        claimed = conn.execute(
            update(invitations)
            .where(invitations.c.token_hash == digest)
            .where(invitations.c.used_at.is_(None))
            .values(used_at=utcnow())
        ).rowcount
        if claimed != 1:
            raise ConflictError("this invitation was used already")
        author = author_store.ensure_author(conn, found.email)
        membership = org_store.add_member(conn, org_id, author.id, found.role)
        new_token = author_store.issue_token(
            conn, author.id, "invitation", membership_id=membership
        )
        audit.record(
            conn, org_id, author.id, author.email, "invitation.accept", author.email, found.role
        )
    return found, new_token


# -- sharing bank versions -----------------------------------------------------------------


def _share(row: object, names: dict[int, str]) -> Share:
    return Share(
        id=row.id,  # type: ignore[attr-defined]
        bank_hash=row.bank_hash,  # type: ignore[attr-defined]
        from_organisation=names.get(row.org_id, "?"),  # type: ignore[attr-defined]
        to_organisation=names.get(row.to_org_id, "?"),  # type: ignore[attr-defined]
        with_keys=bool(row.with_keys),  # type: ignore[attr-defined]
        created_at=as_utc(row.created_at) or utcnow(),  # type: ignore[attr-defined]
        withdrawn_at=as_utc(row.withdrawn_at),  # type: ignore[attr-defined]
    )


def shares(rt: Runtime, member: Member) -> list[Share]:
    """Shares the organisation gave and received, newest first."""
    with rt.db.read() as conn:
        rows = conn.execute(
            select(bank_shares)
            .where(
                (bank_shares.c.org_id == member.org_id) | (bank_shares.c.to_org_id == member.org_id)
            )
            .order_by(bank_shares.c.id.desc())
        ).all()
        names = {o.id: o.slug for o in org_store.list_orgs(conn)}
    return [_share(r, names) for r in rows]


def share(rt: Runtime, member: Member, request: ShareCreate) -> Share:
    """Share a bank version the organisation holds (not one shared with it) with another.

    The receiving organisation may use it in assessments; ``with_keys`` says whether it may
    also see answer keys and explanations.
    """
    with rt.db.write() as conn:
        if bank_store.access(conn, member.org_id, request.bank_hash) != "own":
            raise NotFoundError("no such bank version")
        target = org_store.get_by_slug(conn, request.organisation.strip().lower())
        if target is None:
            raise NotFoundError(f"no organisation {request.organisation!r}")
        if target.id == member.org_id:
            raise InvalidInputError(
                "a bank version cannot be shared with its own organisation",
                [f"organisation: {request.organisation}"],
            )
        new_id = conn.execute(
            insert(bank_shares)
            .values(
                org_id=member.org_id,
                bank_hash=request.bank_hash,
                to_org_id=target.id,
                with_keys=request.with_keys,
                created_at=utcnow(),
            )
            .returning(bank_shares.c.id)
        ).scalar_one()
        audit.record(
            conn,
            member.org_id,
            member.id,
            member.email,
            "bank.share",
            request.bank_hash,
            f"with {target.slug}" + (" (keys and explanations)" if request.with_keys else ""),
        )
        row = conn.execute(select(bank_shares).where(bank_shares.c.id == new_id)).one()
        names = {member.org_id: member.org_slug, target.id: target.slug}
    return _share(row, names)


def withdraw(rt: Runtime, member: Member, share_id: int) -> Share:
    """Withdraw a share the organisation gave; assessments made from it keep their version."""
    with rt.db.write() as conn:
        row = conn.execute(
            select(bank_shares)
            .where(bank_shares.c.id == share_id)
            .where(bank_shares.c.org_id == member.org_id)
        ).first()
        if row is None:
            raise NotFoundError("no such share")
        if row.withdrawn_at is None:
            conn.execute(
                update(bank_shares)
                .where(bank_shares.c.id == share_id)
                .values(withdrawn_at=utcnow())
            )
            audit.record(
                conn,
                member.org_id,
                member.id,
                member.email,
                "bank.unshare",
                row.bank_hash,
                f"share {share_id}",
            )
        row = conn.execute(select(bank_shares).where(bank_shares.c.id == share_id)).one()
        names = {o.id: o.slug for o in org_store.list_orgs(conn)}
    return _share(row, names)
