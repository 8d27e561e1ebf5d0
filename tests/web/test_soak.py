"""The soak with faults on PostgreSQL, short: 100 learners on two web processes and a delivery
worker, one web process killed with SIGKILL and restarted mid-run (see :mod:`bench.soak`)."""

from __future__ import annotations

from pathlib import Path

from bench.soak import soak


def test_soak_with_a_killed_web_process_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    result = soak(postgres_url, tmp_path, learners=100, seconds=25.0, kill_after=8.0)
    assert result.answers > 500, result.rows()  # the load was real
    assert result.finished > 20
    assert result.connection_errors > 0, "the kill hit no request: it tested nothing"
    assert result.missing == 0
    assert result.duplicated == 0
    assert result.stuck == 0
    assert result.server_errors_outside_kill == 0, (result.error_texts, result.server_logs)
    assert result.credentials > 0, "nobody passed: the awards went untested"
    assert result.credentials_delivered == result.credentials
    assert result.delivered_once == result.messages
    assert result.delivered_twice == 0
    assert result.unverified == 0
    print("\n".join(f"{label}: {value}" for label, value in result.rows()))
