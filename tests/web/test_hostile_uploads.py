"""Hostile bank uploads over HTTP: each gets a located 4xx problem, nothing is stored, and the
server's memory comes back to its level (a second round of the same uploads does not grow it).

Runs against a real server process (uvicorn, SQLite) so that the body limits, the parsers and
the allocator are the ones in production.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import ServerProcess, start_server

FORMATS = Path(__file__).resolve().parents[1] / "item_banks" / "data"


def _yaml_alias_bomb() -> bytes:
    """Nine levels of nine aliases: 387 million strings if anything expanded them."""
    lines = ["id: bomb", "title: t", "version: '1'", 'l0: &l0 ["lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    lines.append("items:")
    lines.append("  - {id: i1, stem: *l9}")
    return ("\n".join(lines) + "\n").encode()


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("imsmanifest.xml", b"<manifest>" + b" " * (300 * 1024 * 1024) + b"</x>")
    return buffer.getvalue()


def _entity_bomb() -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{k} "{f"&l{k - 1};" * 10}">' for k in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE q [{entities}]>'
        '<qti-assessment-item identifier="x" title="t">&l9;</qti-assessment-item>'
    ).encode()


def _million_items() -> bytes:
    items = b",".join(b'{"id":"i%d"}' % k for k in range(1_000_000))
    return b'{"id":"x","title":"t","version":"1","items":[' + items + b"]}"


#: name, body, what the located error says (a fragment)
HOSTILE: list[tuple[str, Callable[[], bytes], str]] = [
    ("entities.xml", _entity_bomb, "entities.xml: line 1: the DOCTYPE declares"),
    ("bomb.zip", _zip_bomb, "bomb.zip!imsmanifest.xml: file is"),
    ("aliases.yaml", _yaml_alias_bomb, "aliases.yaml"),
    ("fifty.yaml", lambda: b"#" * (50 * 1024 * 1024), "the limit is 20,971,520"),
    ("million.json", _million_items, "1,000,000 items; the limit is 5,000"),
    ("latin1.yaml", lambda: b"id: caf\xe9\nitems: []\n", "latin1.yaml: not valid YAML"),
    ("latin1.json", lambda: b'{"id": "caf\xe9"}', "latin1.json: not valid JSON"),
    (
        "nan.json",
        lambda: b'{"id":"x","title":"t","version":"1","items":[{"id":"i","irt":{"a":NaN}}]}',
        "nan.json: not valid JSON",
    ),
    (
        "huge.json",
        lambda: b'{"id":"x","title":"t","version":"1","items":[{"id":"i","irt":{"a":1e999}}]}',
        "huge.json",
    ),
    ("deep.json", lambda: b"[" * 100_000 + b"]" * 100_000, "deep.json: nested too deeply"),
    ("deep.yaml", lambda: b"[" * 100_000 + b"]" * 100_000, "deep.yaml: nested too deeply"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("hostile"))
    yield process
    process.stop()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _upload(client: httpx.Client, name: str, body: bytes) -> httpx.Response:
    return client.post("/api/v1/author/banks", params={"filename": name}, content=body)


def _banks(client: httpx.Client) -> list[dict[str, object]]:
    reply = client.get("/api/v1/author/banks")
    assert reply.status_code == 200
    banks: list[dict[str, object]] = reply.json()
    return banks


def test_each_hostile_upload_is_a_located_4xx_and_stores_nothing(server: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {server.author_token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
        before = _banks(client)
        for name, make, fragment in HOSTILE:
            reply = _upload(client, name, make())
            assert 400 <= reply.status_code < 500, (name, reply.status_code, reply.text[:300])
            assert reply.headers["content-type"] == "application/problem+json", name
            problem = reply.json()
            assert any(fragment in error for error in problem["errors"]), (name, problem)
        assert _banks(client) == before
    assert not [line for line in server.output if "Traceback" in line], "".join(server.output)


def test_memory_comes_back_to_its_level(server: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {server.author_token}"}
    pid = server.process.pid
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
        bodies = [(name, make()) for name, make, _ in HOSTILE]
        for name, body in bodies:  # the first round sizes the allocator's pools
            _upload(client, name, body)
        level = _rss_kib(pid)
        for _ in range(2):
            for name, body in bodies:
                assert 400 <= _upload(client, name, body).status_code < 500, name
        grown = _rss_kib(pid) - level
    # a leak of any of the 50 MB bodies or the 16 MB million-item bank would show twice over
    assert grown < 40 * 1024, f"resident memory grew by {grown / 1024:.0f} MiB"
