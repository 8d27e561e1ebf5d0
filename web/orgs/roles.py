"""The capability table: which role may do which action.

Badgr's owner/editor/staff and Moodle's capabilities are the anchors.

Every author page and API route declares the one action it performs (``opt={"action": ...}``
on its handler); :func:`web.orgs.guard.authorize` checks it against this table before the
handler runs. What a member may *see* is their organisation's objects only (the stores scope
every query by ``org_id``); what they may *do* is decided here, and nowhere else.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from web.store.orgs import Role

Action = Literal[
    "public",  # sign-in and sign-out: no membership needed
    "bank.read",
    "bank.upload",
    "bank.share",
    "bank.export",  # download a version with its keys (QTI package or native)
    "assessment.read",
    "assessment.manage",  # create, open/close, define the achievement
    "responses.export",
    "integrity.read",
    "award.decide",  # release or refuse a held award
    "credential.read",
    "credential.revoke",
    "webhook.read",
    "webhook.manage",
    "lti.read",  # see the LMS platforms and their launches
    "lti.manage",  # register LMS platforms
    "org.read",  # see the organisation's issuer profile
    "org.manage",  # members, roles, invitations, profile, keys
    "audit.read",
]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

_READ: Final[frozenset[Action]] = frozenset(
    {"bank.read", "assessment.read", "credential.read", "org.read"}
)

_AUTHOR: Final[frozenset[Action]] = frozenset(
    {
        "bank.upload",
        "bank.export",
        "assessment.manage",
        "webhook.read",
        "webhook.manage",
        "lti.read",
        "lti.manage",
    }
)

CAPABILITIES: Final[dict[Role, frozenset[Action]]] = {
    "owner": frozenset(ACTIONS),
    "author": _READ | _AUTHOR,
    "reviewer": _READ | {"integrity.read", "award.decide", "credential.revoke"},
    "psychometrician": _READ | {"responses.export", "bank.export"},
    "viewer": _READ,
}

#: How a refusal names an action ("your role (viewer) may not <text>").
ACTION_TEXT: Final[dict[Action, str]] = {
    "public": "sign in",
    "bank.read": "see banks",
    "bank.upload": "upload banks",
    "bank.share": "share banks with other organisations",
    "bank.export": "download banks with their answer keys",
    "assessment.read": "see assessments",
    "assessment.manage": "create or change assessments",
    "responses.export": "export responses",
    "integrity.read": "see integrity evidence",
    "award.decide": "release or refuse held awards",
    "credential.read": "see credentials",
    "credential.revoke": "revoke credentials",
    "webhook.read": "see webhooks",
    "webhook.manage": "change webhooks",
    "lti.read": "see LMS platforms",
    "lti.manage": "register LMS platforms",
    "org.read": "see the organisation",
    "org.manage": "manage the organisation's members, profile and keys",
    "audit.read": "read the audit log",
}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (unknown roles and actions may do nothing)."""
    if action == "public":
        return True
    return action in CAPABILITIES.get(role, frozenset())  # type: ignore[call-overload]
