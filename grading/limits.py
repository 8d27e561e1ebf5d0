"""The resource limits of one sandboxed run (defaults as Jobe's)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

MB = 1024 * 1024


class Limits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits of one run; decode untrusted limits with ``msgspec.convert(data, Limits)``.

    Attributes
    ----------
    cpu_seconds
        CPU time of each process (``RLIMIT_CPU``; SIGXCPU at the limit).
    wall_seconds
        Wall-clock time of the whole run; ``None`` means twice ``cpu_seconds``.
    memory_mb
        Address space of each process (``RLIMIT_AS``).
    processes
        Processes and threads of the run's own uid (``RLIMIT_NPROC``).
    open_files
        Open file descriptors of each process (``RLIMIT_NOFILE``).
    file_size_mb
        Largest file a process may write (``RLIMIT_FSIZE``).
    disk_mb
        Size of the private tmpfs that is the working directory.
    output_bytes
        Bytes of stdout and of stderr kept; more kills the run.
    """

    cpu_seconds: Annotated[float, Meta(gt=0, le=60)] = 5.0
    wall_seconds: Annotated[float, Meta(gt=0, le=120)] | None = None
    memory_mb: Annotated[int, Meta(ge=32, le=4096)] = 400
    processes: Annotated[int, Meta(ge=1, le=256)] = 30
    open_files: Annotated[int, Meta(ge=16, le=1024)] = 64
    file_size_mb: Annotated[int, Meta(ge=1, le=256)] = 16
    disk_mb: Annotated[int, Meta(ge=1, le=256)] = 32
    output_bytes: Annotated[int, Meta(ge=1024, le=16 * MB)] = 2 * MB

    @property
    def wall(self) -> float:
        """The wall-clock limit in seconds."""
        return self.wall_seconds if self.wall_seconds is not None else 2 * self.cpu_seconds
