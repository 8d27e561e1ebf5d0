"""Safe reading of zip packages (QTI content packages) into memory.

Nothing is ever extracted to disk. Before a byte is decompressed the central directory is
checked against :class:`~item_banks.native.Limits`: the number of files, the total and
per-file uncompressed size, the compression ratio of every sizeable member (zip bombs), and
every member's path (``../`` or absolute paths that would escape the package are refused even
though nothing is written, because a later tool might extract it). Reads are bounded again
while decompressing, so a lying header cannot get past the limits.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from item_banks.errors import BankValidationError, Problem
from item_banks.native import DEFAULT_LIMITS, Limits

#: Members smaller than this are not ratio-checked: tiny, repetitive files compress well.
RATIO_FLOOR = 64 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


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


def read_package(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Return every file of the zip package ``data`` by its normalised path.

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
        # A package of the largest bank allowed must fit: one file per item, plus the
        # manifest, usage data and as many media files again.
        most = max(limits.max_package_files, 2 * limits.max_items + 10)
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
        files: dict[str, bytes] = {}
        for info in infos:
            normal = posixpath.normpath(info.filename.replace("\\", "/"))
            try:
                with archive.open(info) as member:
                    content = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise refuse(f"cannot read this member: {exc}", info.filename) from None
            if len(content) > info.file_size:
                raise refuse("member is larger than its header says", info.filename)
            files[normal] = content
        return files
