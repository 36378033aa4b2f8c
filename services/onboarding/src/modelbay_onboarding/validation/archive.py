"""Reading an uploaded bundle archive in one streaming pass, without unpacking it to disk.

Every member is checked before its bytes are read: no absolute paths, no `..`, no links, no
device files or FIFOs, no duplicate names, a bounded number of files, a bounded total size and
a bounded expansion ratio. Regular files are hashed as they stream; the few small metadata
files the checks need (manifest, proto, descriptor set, schemas) are kept in memory. Nothing is
ever written out, so a hostile archive has nothing to overwrite.

Decompressed bytes are counted under tarfile itself (`_CappedReader`), so the caps hold even
for headers tarfile reads on its own (PAX records, GNU long names) and for lying size fields.
Those header records are also bounded one by one (`max_header_bytes`, checked from the size field
before tarfile reads the record whole: a 150 MB PAX record once cost +459 MB before the 422), and
every entry counts against the file limit, directories included (1.5 M directory entries in a
10.5 MB upload once passed and cost +720 MB: tarfile keeps every member's header in memory).
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from modelbay_onboarding.errors import CorruptArchive, InvalidBundle, UnsafeArchive

_READ_CHUNK = 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 1024 * 1024

# Members whose body tarfile reads whole, into memory, as the header of the next member.
_EXTENDED_HEADER_TYPES = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int
    max_unpacked_bytes: int
    max_expansion_ratio: float
    expansion_ratio_floor_bytes: int
    max_metadata_file_bytes: int
    # One PAX record or GNU long name; global PAX records also add up against it (they persist).
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES


@dataclass(frozen=True)
class ArchiveFile:
    size: int
    sha256: str


@dataclass
class ArchiveContents:
    """What the archive holds: every regular file with its size and SHA-256."""

    files: dict[str, ArchiveFile] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)  # the metadata files' bytes
    scanned: dict[str, object] = field(default_factory=dict)  # what each scanner returned
    unpacked_bytes: int = 0


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CappedReader:
    """A read-only stream over the decompressed archive that stops a decompression bomb."""

    def __init__(self, stream: _Readable, compressed_size: int, limits: ArchiveLimits) -> None:
        self._stream = stream
        self._compressed_size = max(compressed_size, 1)
        self._limits = limits
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size >= 0 else _READ_CHUNK)
        self.consumed += len(data)
        self._check()
        return data

    def _check(self) -> None:
        limits = self._limits
        if self.consumed > limits.max_unpacked_bytes:
            raise UnsafeArchive(
                f"the archive unpacks to more than {limits.max_unpacked_bytes} bytes; "
                "remove large data files from the bundle",
                extensions={"limit_bytes": limits.max_unpacked_bytes},
            )
        ratio = self.consumed / self._compressed_size
        if self.consumed > limits.expansion_ratio_floor_bytes and ratio > (
            limits.max_expansion_ratio
        ):
            raise UnsafeArchive(
                f"the archive expands more than {limits.max_expansion_ratio:g} times "
                f"({self._compressed_size} bytes unpack to over {self.consumed}): that is how "
                "decompression bombs look, so it is refused; bundles written by the SDK never "
                "do this",
                extensions={"max_expansion_ratio": limits.max_expansion_ratio},
            )


# Reads a member as a stream (the pickle scanner); its answer lands in `ArchiveContents.scanned`.
MemberScanner = Callable[[IO[bytes]], object]


def read_archive(
    path: Path,
    keep: frozenset[str],
    limits: ArchiveLimits,
    scanners: Mapping[str, MemberScanner] | None = None,
) -> ArchiveContents:
    """Check and index the `.tar.gz` at `path`; keep the bytes of the members named in `keep`,
    and stream the members named in `scanners` through their scanner in the same pass.

    Synchronous and CPU-bound: call it in a worker thread.
    """
    compressed_size = path.stat().st_size
    try:
        with gzip.open(path, "rb") as decompressed:
            capped = _CappedReader(decompressed, compressed_size, limits)
            with tarfile.open(  # type: ignore[call-overload]
                fileobj=capped, mode="r|", tarinfo=_bounded_tarinfo(limits.max_header_bytes)
            ) as tar:
                return _index_members(tar, keep, limits, scanners or {})
    except (gzip.BadGzipFile, tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise CorruptArchive(
            f"the upload is not a readable gzip-compressed tar archive ({exc}); create it with "
            "`modelbay bundle` or the SDK's write_archive",
        ) from None


def _bounded_tarinfo(max_header_bytes: int) -> type[tarfile.TarInfo]:
    """A TarInfo that refuses an oversized extended header from its size field, before reading it.

    tarfile reads a PAX record or GNU long name whole (`fileobj.read(size)`) the moment it meets
    one, so no cap below it can stop the allocation; the size is known from the 512-byte header
    block, which is where this check sits (tarfile's `_proc_member` hook, the dispatch point of
    every member type since Python 3.0).
    """
    global_bytes = 0

    class BoundedTarInfo(tarfile.TarInfo):
        def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
            nonlocal global_bytes
            if self.type in _EXTENDED_HEADER_TYPES:
                total = self.size + (global_bytes if self.type == tarfile.XGLTYPE else 0)
                if total > max_header_bytes:
                    raise UnsafeArchive(
                        f"the archive has an extended header record of {self.size} bytes "
                        f"(PAX or GNU long name), more than the {max_header_bytes} allowed; "
                        "bundles written by the SDK have none this large",
                        extensions={"limit_header_bytes": max_header_bytes},
                    )
                if self.type == tarfile.XGLTYPE:
                    global_bytes = total
            member: tarfile.TarInfo = super()._proc_member(tarfile_)  # type: ignore[misc]
            return member

    return BoundedTarInfo


def _index_members(
    tar: tarfile.TarFile,
    keep: frozenset[str],
    limits: ArchiveLimits,
    scanners: Mapping[str, MemberScanner],
) -> ArchiveContents:
    contents = ArchiveContents()
    seen: set[str] = set()
    for member in tar:
        name = safe_member_name(member.name)
        _check_member_type(member, name)
        if name in seen:
            raise UnsafeArchive(
                f"the archive contains {name!r} twice; the second copy would silently win",
                extensions={"member": name},
            )
        seen.add(name)
        # Directories count too: each entry costs tarfile a header kept in memory.
        if len(seen) > limits.max_files:
            raise UnsafeArchive(
                f"the archive has more than {limits.max_files} entries (files and "
                "directories); bundle fewer files",
                extensions={"limit_files": limits.max_files},
            )
        if member.isdir():
            continue
        contents.unpacked_bytes += member.size
        if contents.unpacked_bytes > limits.max_unpacked_bytes:
            raise UnsafeArchive(
                f"the files in the archive add up to more than {limits.max_unpacked_bytes} "
                "bytes; remove large data files from the bundle",
                extensions={"limit_bytes": limits.max_unpacked_bytes},
            )
        contents.files[name] = _read_member(
            tar, member, name, keep, contents, limits, scanners.get(name)
        )
    return contents


def safe_member_name(raw: str) -> str:
    """The member's path relative to the bundle root, or UnsafeArchive if it could escape."""
    if "\x00" in raw or "\\" in raw:
        raise UnsafeArchive(
            f"member {raw!r} has a NUL or backslash in its path", extensions={"member": raw}
        )
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeArchive(
            f"member {raw!r} has an absolute path; bundle paths must be relative",
            extensions={"member": raw},
        )
    name = raw
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    segments = name.split("/")
    if ".." in segments:
        raise UnsafeArchive(
            f"member {raw!r} climbs out of the bundle with '..' (zip-slip)",
            extensions={"member": raw},
        )
    if not name or any(segment in ("", ".") for segment in segments):
        raise UnsafeArchive(
            f"member {raw!r} has an empty or '.' path segment", extensions={"member": raw}
        )
    return name


def _check_member_type(member: tarfile.TarInfo, name: str) -> None:
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hard link"
        base = posixpath.dirname(name) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, member.linkname))
        escapes = member.linkname.startswith("/") or target.split("/")[0] == ".."
        where = "outside the bundle" if escapes else "inside the bundle"
        raise UnsafeArchive(
            f"member {name!r} is a {kind} to {member.linkname!r} ({where}); bundles may only "
            "hold regular files and directories",
            extensions={"member": name},
        )
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchive(
            f"member {name!r} is a device file or FIFO; bundles may only hold regular files",
            extensions={"member": name},
        )
    if member.issparse() or not (member.isreg() or member.isdir()):
        raise UnsafeArchive(
            f"member {name!r} has an unsupported tar type {member.type!r}; bundles may only "
            "hold regular files and directories",
            extensions={"member": name},
        )


def _read_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    name: str,
    keep: frozenset[str],
    contents: ArchiveContents,
    limits: ArchiveLimits,
    scanner: MemberScanner | None = None,
) -> ArchiveFile:
    keeping = name in keep
    if keeping and member.size > limits.max_metadata_file_bytes:
        raise InvalidBundle(
            f"{name} has {member.size} bytes, more than the {limits.max_metadata_file_bytes} "
            "allowed for a bundle metadata file",
            extensions={"file": name},
        )
    stream = tar.extractfile(member)
    if stream is None:  # not a regular file; ruled out above, but the API says it may happen
        raise UnsafeArchive(f"member {name!r} has no content", extensions={"member": name})
    digest = hashlib.sha256()
    parts: list[bytes] = []
    if scanner is not None:
        # The scanner reads through the digest; what it leaves unread is hashed below.
        hashing = _HashingReader(stream, digest)
        contents.scanned[name] = scanner(hashing)  # type: ignore[arg-type]
    while chunk := stream.read(_READ_CHUNK):
        digest.update(chunk)
        if keeping:
            parts.append(chunk)
    if keeping:
        contents.kept[name] = b"".join(parts)
    return ArchiveFile(size=member.size, sha256=digest.hexdigest())


class _HashingReader:
    """A member's stream that feeds every byte it hands out to the member's SHA-256."""

    def __init__(self, stream: IO[bytes], digest: hashlib._Hash) -> None:
        self._stream = stream
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._digest.update(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self._digest.update(data)
        return data
