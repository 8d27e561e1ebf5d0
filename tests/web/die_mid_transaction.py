"""Start a migration or store a bank, and SIGKILL this process after its K-th SQL statement.

Used by ``tests/web/test_kill_safety.py``: ``python -m tests.web.die_mid_transaction
migrate|upload <database url> <K>``. Prints ``completed <statements>`` when the work ends
before the K-th statement (the sweep over K then stops).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from sqlalchemy import event

from item_banks.native import read_bank
from item_banks.sample import sample_bank_path
from web.db.connection import Database
from web.db.migrate import migrate
from web.store import authors, banks


def main() -> None:
    mode, url, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Database(url)
    executed = 0

    def count(*_: Any) -> None:
        nonlocal executed
        executed += 1
        if executed >= limit:
            os.kill(os.getpid(), signal.SIGKILL)

    if mode == "migrate":
        event.listen(db.engine, "after_cursor_execute", count)
        migrate(db)
    else:
        migrate(db)
        bank = read_bank(sample_bank_path())
        with db.write() as conn:
            author = authors.ensure_author(conn, "kill@example.org")
        event.listen(db.engine, "after_cursor_execute", count)
        with db.write() as conn:
            banks.store_bank(conn, bank, "bank.yaml", author.id)
    print("completed", executed, flush=True)


if __name__ == "__main__":
    main()
