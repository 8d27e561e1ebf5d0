"""The database schema, one SQLAlchemy Core ``MetaData`` for SQLite and PostgreSQL.

Conventions: ids of things people see in URLs are random strings; timestamps are UTC;
JSON documents are stored as text produced by msgspec (portable across both databases).
``responses`` is append-only (triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# -- organisations (revision 0007_org) ----------------------------------------------------------
# Everything an organisation owns carries an ``org_id`` column naming it (assessments, webhook
# endpoints, achievements, credentials, status lists; bank versions through
# ``org_bank_versions``, since one stored version may be held by several organisations).

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("url", String(2000), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("image", String(2000), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    # the key directory under SKILLGAUGE_DATA_DIR; "keys" for the organisation migrated from
    # the single-issuer service (its earlier credentials name {base}/issuer and still verify)
    Column("keys_dir", String(200), nullable=False),
    Column("legacy_issuer", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

author_tokens = Table(
    "author_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("author_id", Integer, ForeignKey("authors.id"), nullable=False, index=True),
    # revision 0007_org: the membership (organisation and role) the token acts as
    Column("membership_id", Integer, ForeignKey("memberships.id"), nullable=True, index=True),
    Column("label", String(100), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # revision 0003_i11
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("author_id", Integer, ForeignKey("authors.id"), nullable=False, index=True),
    Column("role", String(20), nullable=False),  # owner|author|reviewer|psychometrician|viewer
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "author_id", name="uq_memberships_org_author"),
)

bank_versions = Table(
    "bank_versions",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("bank_id", String(64), nullable=False, index=True),
    Column("version_label", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("source_name", String(255), nullable=False),
    Column("uploaded_by", Integer, ForeignKey("authors.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Which organisation holds which bank version (revision 0007_org). A version is stored once
#: by content; each organisation that uploaded it holds it.
org_bank_versions = Table(
    "org_bank_versions",
    metadata,
    Column("org_id", Integer, ForeignKey("organisations.id"), primary_key=True),
    Column("bank_hash", String(64), ForeignKey("bank_versions.hash"), primary_key=True),
    Column("added_by", Integer, ForeignKey("authors.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: A bank version shared on purpose by its holder with another organisation (0007_org).
bank_shares = Table(
    "bank_shares",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("bank_hash", String(64), ForeignKey("bank_versions.hash"), nullable=False),
    Column("to_org_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("with_keys", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
)

#: The media files of bank versions (images of QTI packages), by content: a version's
#: ``Bank.media`` lists the ones it shows; equal files are stored once.
bank_media = Table(
    "bank_media",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("content_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("bank_hash", String(64), ForeignKey("bank_versions.hash"), nullable=False, index=True),
    Column("policy", Text, nullable=False),
    Column("feedback_mode", String(16), nullable=False, default="instant"),
    Column("time_limit_seconds", Integer, nullable=True),
    Column("owner_id", Integer, ForeignKey("authors.id"), nullable=True, index=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=True, index=True),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

learner_sessions = Table(
    "learner_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("assessment_id", String(32), ForeignKey("assessments.id"), nullable=False),
    Column("state", Text, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("learner_name", String(200), nullable=True),
    Column("learner_email", String(320), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("result", Text, nullable=True),
    Column("learner_did", String(400), nullable=True),  # revision 0002
    # revision 0004_verify: integrity evidence, held awards, verified email
    Column("integrity", Text, nullable=True),
    Column("award_status", String(16), nullable=True),
    Column("award_decided_at", DateTime(timezone=True), nullable=True),
    Column("award_decided_by", Integer, nullable=True),
    Column("email_verified_at", DateTime(timezone=True), nullable=True),
    Column("did_verified_at", DateTime(timezone=True), nullable=True),  # revision 0006_did
    Index("ix_learner_sessions_assessment_created", "assessment_id", "created_at"),
    Index("ix_learner_sessions_award_status", "assessment_id", "award_status"),
)

responses = Table(
    "responses",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("session_id", String(64), ForeignKey("learner_sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("answer", Text, nullable=False),
    Column("category", Integer, nullable=False),
    Column("max_category", Integer, nullable=False),
    Column("pretest", Boolean, nullable=False),
    Column("estimates", Text, nullable=False),
    Column("feedback", Text, nullable=True),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Column("elapsed_ms", Integer, nullable=True),
    UniqueConstraint("session_id", "seq", name="uq_responses_session_seq"),
    Index("ix_responses_item", "item_id"),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
)

# -- credentials and webhooks (revision 0002) ------------------------------------------------

achievements = Table(
    "achievements",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("assessment_id", String(32), ForeignKey("assessments.id"), nullable=False, unique=True),
    Column("definition", Text, nullable=False),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

status_lists = Table(
    "status_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("purpose", String(16), nullable=False),
    Column("size", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("document", Text, nullable=True),
    Column("document_revision", Integer, nullable=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "session_id", String(64), ForeignKey("learner_sessions.id"), nullable=False, unique=True
    ),
    Column("assessment_id", String(32), ForeignKey("assessments.id"), nullable=False, index=True),
    Column("achievement_id", String(32), ForeignKey("achievements.id"), nullable=False),
    Column("status_list_id", Integer, ForeignKey("status_lists.id"), nullable=False),
    Column("status_index", Integer, nullable=False),
    Column("recipient_name", String(200), nullable=True),
    Column("recipient_email", String(320), nullable=True),
    Column("recipient_did", String(400), nullable=True),
    Column("document", Text, nullable=False),
    Column("jwt", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revocation_reason", Text, nullable=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=True, index=True),
    UniqueConstraint("status_list_id", "status_index", name="uq_credentials_status_slot"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner_id", Integer, ForeignKey("authors.id"), nullable=False, index=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=True, index=True),
    Column("url", String(2000), nullable=False),
    Column("description", String(200), nullable=False),
    Column("event_types", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("failing_since", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("endpoint_id", String(32), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("retry_step", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claim_token", String(32), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_messages_due", "status", "next_attempt_at"),
    Index("ix_webhook_messages_endpoint_created", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("message_id", String(40), ForeignKey("webhook_messages.id"), nullable=False, index=True),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("response_excerpt", Text, nullable=True),
    Column("state", String(16), nullable=True),  # revision 0003_i11: sending|done|interrupted
)

# -- verified learners (revision 0004_verify) --------------------------------------------------

learner_links = Table(
    "learner_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),  # verify | results | record
    Column("email", String(320), nullable=False, index=True),
    Column("session_id", String(64), ForeignKey("learner_sessions.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

# revision 0006_did: single-use challenges a learner signs to prove control of their DID
did_challenges = Table(
    "did_challenges",
    metadata,
    Column("nonce_hash", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("learner_sessions.id"), nullable=False, index=True),
    Column("did", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

# -- organisations' audit log and invitations (revision 0007_org) ------------------------------

#: Append-only (triggers refuse UPDATE and DELETE): who did what in an organisation, when.
audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", Integer, ForeignKey("authors.id"), nullable=True),
    Column("actor_email", String(320), nullable=False),
    Column("action", String(40), nullable=False),
    Column("object", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_events_org_at", "org_id", "at"),
)

#: Single-use, expiring invitations (stored as a keyed hash of the link's token).
invitations = Table(
    "invitations",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("email", String(320), nullable=False),
    Column("role", String(20), nullable=False),
    Column("invited_by", Integer, ForeignKey("authors.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)


# -- LTI 1.3 (revision 0008_lti) ---------------------------------------------------------------
# An organisation registers the LMS platforms that launch its assessments (``org_id`` like
# webhook_endpoints). Launch states, used nonces, deep-linking choices and launches are the
# tool's side of the OIDC third-party login, Deep Linking 2.0 and AGS score passback; each
# launch row is also the outbox of its score (posted by the delivery worker, with retries).

lti_platforms = Table(
    "lti_platforms",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", Integer, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("issuer", String(2000), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("deployment_ids", Text, nullable=False),  # JSON list
    Column("auth_url", String(2000), nullable=False),
    Column("token_url", String(2000), nullable=False),
    Column("jwks_url", String(2000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),
)

lti_states = Table(
    "lti_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("platform_id", String(32), ForeignKey("lti_platforms.id"), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

lti_nonces = Table(
    "lti_nonces",
    metadata,
    Column("platform_id", String(32), ForeignKey("lti_platforms.id"), primary_key=True),
    Column("nonce", String(255), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)

lti_deep_links = Table(
    "lti_deep_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("platform_id", String(32), ForeignKey("lti_platforms.id"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    Column("return_url", String(2000), nullable=False),
    Column("data", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

lti_launches = Table(
    "lti_launches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform_id", String(32), ForeignKey("lti_platforms.id"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("resource_link_id", String(255), nullable=False),
    Column("assessment_id", String(32), ForeignKey("assessments.id"), nullable=False),
    Column("session_id", String(64), ForeignKey("learner_sessions.id"), nullable=False),
    Column("lineitem_url", String(2000), nullable=True),
    # the line items container, when the launch named no line item (0009)
    Column("lineitems_url", String(2000), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the score outbox: none (no AGS) | waiting (session not finished) | pending | delivered
    # | failed
    Column("score_status", String(16), nullable=False),
    Column("score_payload", Text, nullable=True),
    Column("retry_step", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("claim_token", String(32), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_lti_launches_resume", "platform_id", "subject", "resource_link_id"),
    Index("ix_lti_launches_score_due", "score_status", "next_attempt_at"),
    Index("ix_lti_launches_session", "session_id"),
)
