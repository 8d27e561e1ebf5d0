"""Run ``skillgauge serve`` as a real process for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A running server, its demo assessment URL and an author token."""

    process: subprocess.Popen[str]
    base_url: str
    assessment_url: str
    author_token: str
    port: int
    env: dict[str, str]
    output: list[str]
    """Everything the server printed (its start-up lines, logs), as it arrives."""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what is committed must survive."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate gracefully (or kill after a grace period)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    data_dir: Path,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    log_level: str | None = None,
) -> ServerProcess:
    """Start ``skillgauge serve --demo`` and wait until it answers."""
    port = port or free_port()
    env = {
        **os.environ,
        "SKILLGAUGE_DATA_DIR": str(data_dir),
        "SKILLGAUGE_SESSIONS_PER_MINUTE": "100000",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skillgauge",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *(["--log-level", log_level] if log_level else []),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(lines) < 5:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
    text = "".join(lines)
    # Keep reading the server's output so a full pipe never blocks it (and keep it).
    output = list(lines)
    threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True).start()
    assessment = re.search(r"demo assessment: (\S+)", text)
    token = re.search(r"author token: +(\S+)", text)
    if not assessment or not token:
        process.kill()
        raise RuntimeError(f"server did not start:\n{text}")
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("server did not answer on " + base)
    return ServerProcess(process, base, assessment.group(1), token.group(1), port, env, output)
