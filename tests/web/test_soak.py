"""The soak with faults on PostgreSQL, short: 100 learners on two web processes and a delivery
worker; every connection of the service dropped by the database, then one web process killed
with SIGKILL and restarted (see :mod:`bench.soak`)."""

from __future__ import annotations

from pathlib import Path

from bench.soak import soak


def test_soak_with_a_killed_web_process_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    result = soak(
        postgres_url, tmp_path, learners=100, seconds=25.0, kill_after=12.0, drop_after=5.0
    )
    assert result.answers > 500, result.rows()  # the load was real
    assert result.finished > 20
    assert result.connection_errors > 0, "the kill hit no request: it tested nothing"
    assert result.missing == 0
    assert result.duplicated == 0
    assert result.stuck == 0
    assert result.server_errors_outside_kill == 0, (result.error_texts, result.server_logs)
    assert result.connections_dropped > 0, "the drop hit no connection: it tested nothing"
    assert result.answers_after_drop > 100, result.rows()  # and the service recovered
    assert result.credentials > 0, "nobody passed: the awards went untested"
    assert result.credentials_delivered == result.credentials
    assert result.delivered == result.messages
    # A message sent as the drop cut the worker's connection is sent again (same webhook-id,
    # which receivers deduplicate): at most the messages of one delivery round.
    assert result.delivered_once + result.delivered_twice == result.messages
    assert result.delivered_twice <= result.connections_dropped
    assert result.unverified == 0
    print("\n".join(f"{label}: {value}" for label, value in result.rows()))
