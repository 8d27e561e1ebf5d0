"""Safe reading of zip packages (QTI content packages) into memory.

Nothing is ever extracted to disk. Before a byte is decompressed the central directory is
checked against :class:`~item_banks.native.Limits`: the number of files, the total and
per-file uncompressed size, the compression ratio of every sizeable member (zip bombs), and
every member's path (``../`` or absolute paths that would escape the package are refused even
though nothing is written, because a later tool might extract it). Reads are bounded again
while decompressing, so a lying header cannot get past the limits, and only the members a
reader asks for are decompressed at all.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping

from item_banks.errors import BankValidationError, Problem
from item_banks.native import DEFAULT_LIMITS, Limits

#: Members smaller than this are not ratio-checked: tiny, repetitive files compress well.
RATIO_FLOOR = 64 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


def package_file_limit(limits: Limits) -> int:
    """Most files a package may hold: ``2 * max_items + 10`` (10,010 by default)."""
    return 2 * limits.max_items + 10


def is_zip(data: bytes) -> bool:
    """Return whether ``data`` starts like a zip archive."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _unsafe_path(name: str) -> str | None:
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        return "is an absolute path"
    if ".." in unified.split("/"):
        return "escapes the package (..)"
    if "\x00" in unified:
        return "contains a NUL character"
    return None


def read_package(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> Package:
    """Return the files of the zip package ``data`` by normalised path, read when asked for.

    Raises
    ------
    BankValidationError
        With one located problem per refused member, or one for the package as a whole.
    """

    def refuse(message: str, member: str | None = None) -> BankValidationError:
        where = f"{source}!{member}" if member else source
        return BankValidationError([Problem(source=where, message=message)])

    if len(data) > limits.max_package_bytes:
        raise refuse(f"package is {len(data):,} bytes; the limit is {limits.max_package_bytes:,}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise refuse(f"not a readable zip package: {exc}") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        # One limit: a package of the largest bank allowed must fit (one file per item, the
        # manifest, usage data and as many media files again).
        most = package_file_limit(limits)
        if len(infos) > most:
            raise refuse(f"package holds {len(infos):,} files; the limit is {most:,}")
        problems: list[Problem] = []
        total = 0
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            reason = _unsafe_path(name)
            if reason:
                problems.append(Problem(source=f"{source}!{name}", message=f"path {reason}"))
                continue
            if info.flag_bits & 0x1:
                problems.append(
                    Problem(source=f"{source}!{name}", message="encrypted members are refused")
                )
            normal = posixpath.normpath(name.replace("\\", "/"))
            if normal in seen:
                problems.append(
                    Problem(source=f"{source}!{name}", message="the path appears twice")
                )
            seen.add(normal)
            if info.file_size > limits.max_bytes:
                problems.append(
                    Problem(
                        source=f"{source}!{name}",
                        message=f"file is {info.file_size:,} bytes uncompressed; "
                        f"the limit is {limits.max_bytes:,}",
                    )
                )
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size >= RATIO_FLOOR and ratio > limits.max_compression_ratio:
                problems.append(
                    Problem(
                        source=f"{source}!{name}",
                        message=f"compression ratio {ratio:,.0f}:1 exceeds "
                        f"{limits.max_compression_ratio:g}:1 (a zip bomb?)",
                    )
                )
            total += info.file_size
        if problems:
            raise BankValidationError(problems)
        if total > limits.max_package_bytes:
            raise refuse(
                f"package unpacks to {total:,} bytes; the limit is {limits.max_package_bytes:,}"
            )
        members = {posixpath.normpath(i.filename.replace("\\", "/")): i for i in infos}
    return Package(data, source, members)


class Package(Mapping[str, bytes]):
    """The files of a checked zip package, by normalised path, decompressed when read.

    Only the members a reader asks for (the manifest, then the files it names) are ever
    decompressed; each read is bounded by the size its header gave, which the limits
    already checked.
    """

    def __init__(self, data: bytes, source: str, members: dict[str, zipfile.ZipInfo]) -> None:
        self._data = data
        self._source = source
        self._members = members
        self._read: dict[str, bytes] = {}

    def __getitem__(self, path: str) -> bytes:
        if path in self._read:
            return self._read[path]
        info = self._members[path]
        try:
            with zipfile.ZipFile(io.BytesIO(self._data)) as archive, archive.open(info) as member:
                content = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BankValidationError(
                [
                    Problem(
                        source=f"{self._source}!{info.filename}",
                        message=f"cannot read this member: {exc}",
                    )
                ]
            ) from None
        if len(content) > info.file_size:
            raise BankValidationError(
                [
                    Problem(
                        source=f"{self._source}!{info.filename}",
                        message="member is larger than its header says",
                    )
                ]
            )
        self._read[path] = content
        return content

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)
