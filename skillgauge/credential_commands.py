"""``skillgauge worker`` (deliver webhooks) and ``skillgauge keys ...`` (signing keys)."""

from __future__ import annotations

import argparse
import contextlib
import signal
from typing import Any


def register(commands: Any) -> None:
    """Add ``worker`` and ``keys``."""
    worker = commands.add_parser(
        "worker",
        help="deliver webhooks (standalone; set SKILLGAUGE_WEBHOOK_WORKER=off on web processes)",
        description="Send due webhook messages from the outbox until stopped (SIGTERM or "
        "Ctrl-C). Several workers may run against one PostgreSQL database: each message is "
        "claimed by one of them.",
    )
    worker.add_argument("--once", action="store_true", help="send what is due now, then exit")
    worker.set_defaults(handler=_worker)

    keys = commands.add_parser("keys", help="the issuer's signing keys")
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="SUBCOMMAND")
    listing = sub.add_parser("list", help="every published key, active or retired")
    listing.add_argument("--org", help="an organisation's keys (short name); else the service's")
    listing.set_defaults(handler=_keys_list)
    rotate = sub.add_parser(
        "rotate",
        help="retire the active keys and create new ones (old public keys stay published)",
    )
    rotate.add_argument("--org", help="an organisation's keys (short name); else the service's")
    rotate.set_defaults(handler=_keys_rotate)


def _worker(args: argparse.Namespace) -> int:
    from web.db.connection import Database
    from web.db.migrate import migrate
    from web.settings import load_settings
    from web.webhooks.worker import DeliveryWorker

    settings = load_settings()
    db = Database(settings.database_url)
    migrate(db)
    worker = DeliveryWorker(db, settings)
    try:
        if args.once:
            sent = worker.drain()
            print(f"sent {sent} message(s)")
            return 0
        signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
        print("delivering webhooks; stop with Ctrl-C or SIGTERM", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            worker.run_forever()
        print(f"stopped after {worker.sent_total} attempt(s)", flush=True)
        return 0
    finally:
        worker.stop()
        db.dispose()


def _ring(org: str | None = None) -> Any:
    """The key ring of the service, or of organisation ``org`` (its rotation is audited)."""
    from pathlib import Path

    from web.credentials.keys import KeyRing
    from web.settings import load_settings

    settings = load_settings()
    if org is None:
        return KeyRing(Path(settings.data_dir) / "keys")
    from skillgauge.web_commands import _runtime
    from web.store import orgs as org_store

    rt = _runtime()
    try:
        with rt.db.read() as conn:
            found = org_store.get_by_slug(conn, org)
    finally:
        rt.db.dispose()
    if found is None:
        raise SystemExit(f"skillgauge keys: no organisation {org!r} (skillgauge org list)")
    return KeyRing(Path(settings.data_dir) / found.keys_dir)


def _audit_rotation(org: str, retired: list[str]) -> None:
    from skillgauge.web_commands import _runtime
    from web.store import audit
    from web.store import orgs as org_store

    rt = _runtime()
    try:
        with rt.db.write() as conn:
            found = org_store.get_by_slug(conn, org)
            if found is not None:
                audit.record(
                    conn,
                    found.id,
                    None,
                    "command line",
                    "keys.rotate",
                    org,
                    "retired " + ", ".join(retired),
                )
    finally:
        rt.db.dispose()


def _keys_list(args: argparse.Namespace) -> int:
    ring = _ring(args.org)
    for key in ring.published():
        state = "active" if key.active else f"retired {key.retired:%Y-%m-%d}"
        print(f"{key.algorithm:8} {state:18} created {key.created:%Y-%m-%d}  {key.kid}")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    ring = _ring(args.org)
    ring.ensure()
    retired = ring.rotate()
    if args.org is not None:
        _audit_rotation(args.org, retired)
    for kid in retired:
        print(f"retired {kid} (still published)")
    active = ring.active()
    print(f"active Ed25519 {active.ed25519_kid}")
    print(f"active ES256   {active.p256_kid}")
    return 0
