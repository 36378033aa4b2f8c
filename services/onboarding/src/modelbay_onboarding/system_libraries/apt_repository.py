"""One Debian suite, read through a private apt configuration on this host.

The image build has no network, so the `.deb` files are fetched here, like the wheels. apt runs
with its own sources list, state and cache under `root` (nothing of the host's apt is read or
changed, and the host may run another release): `apt-get update` fetches the suite's signed
`Packages` index (checked against Debian's archive keyring), `apt-cache` reads it, and
`apt-get download` fetches a package and checks its hash against that index. The suite's
`Contents-amd64.gz` (file → package) is fetched once per index and checked against the SHA-256
the signed `Release` file lists (contents_index.py reads it).

The status file is empty on purpose: dependency closures are computed as for an empty system,
and the build leaves out what the base image already has (docs/system-packages.md).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

_APT_CONF = """\
Dir::Etc::SourceList "{root}/sources.list";
Dir::Etc::SourceParts "{root}/sources.list.d";
Dir::Etc::Parts "{root}/apt.conf.d";
Dir::Etc::Preferences "{root}/preferences";
Dir::Etc::PreferencesParts "{root}/preferences.d";
Dir::State "{root}/state";
Dir::State::status "{root}/state/status";
Dir::Cache "{root}/cache";
APT::Architecture "amd64";
APT::Architectures {{ "amd64"; }};
APT::Sandbox::User "root";
Acquire::Languages "none";
"""
_STAMP = "updated-at"
_EXACT_PIN = re.compile(r"([a-z0-9][a-z0-9+.-]+)(?::\w+)?\s*\(\s*=\s*([^)\s]+)\s*\)")


class AptError(Exception):
    """apt failed for a reason that is not the contributor's (mirror unreachable, bad index)."""


@dataclass(frozen=True)
class PackageRecord:
    """One package of the suite's index (the fields this resolver reads)."""

    name: str
    version: str
    priority: str
    essential: bool
    depends: str  # Pre-Depends and Depends, comma-separated, as in the index
    filename: str  # pool path; its base name is the .deb's
    sha256: str

    @property
    def required(self) -> bool:
        """Every Debian system has this package (the closure of these is every system's floor)."""
        return self.essential or self.priority == "required"

    def exact_pins(self) -> Iterator[tuple[str, str]]:
        """`(name, version)` of every `name (= version)` in its dependencies."""
        for match in _EXACT_PIN.finditer(self.depends):
            yield match.group(1), match.group(2)


class AptRepository:
    """A Debian `suite` from `mirror`, with its state in `root` (shared by processes: locked)."""

    def __init__(
        self,
        *,
        root: Path,
        mirror: str,
        suite: str,
        keyring: Path,
        max_index_age_seconds: float,
        timeout_seconds: float = 600.0,
    ) -> None:
        self.root = root
        self.mirror = mirror.rstrip("/")
        self.suite = suite
        self._keyring = keyring
        self._max_age = max_index_age_seconds
        self._timeout = timeout_seconds
        self._base: tuple[tuple[float, tuple[str, ...]], frozenset[str]] | None = None

    @property
    def lists_dir(self) -> Path:
        return self.root / "state" / "lists"

    @property
    def debs_dir(self) -> Path:
        """Downloaded `.deb` files, kept across resolutions (named by package, version, arch)."""
        return self.root / "debs"

    async def ensure_index(self) -> None:
        """`apt-get update` when the index is missing or older than the configured age."""
        async with self._locked():
            stamp = self.root / _STAMP
            if stamp.exists() and time.time() - stamp.stat().st_mtime < self._max_age:
                return
            self._write_configuration()
            await self._apt("apt-get", "-q", "update")
            stamp.touch()

    async def records(self, names: Iterable[str]) -> dict[str, PackageRecord]:
        """The index records of `names` that exist in the suite (absent names are left out)."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        # `apt-cache show` of one missing name fails the whole call; `dumpavail` would read
        # everything. `--no-all-versions` of present names, one call, after filtering with pkgnames.
        known = set((await self._apt("apt-cache", "pkgnames")).split())
        present = [name for name in wanted if name in known]
        if not present:
            return {}
        text = await self._apt("apt-cache", "show", "--no-all-versions", *present)
        found = [_record(stanza) for stanza in text.split("\n\n") if stanza.strip()]
        return {record.name: record for record in found if record is not None}

    async def base_packages(self, recipe: Iterable[str]) -> frozenset[str]:
        """What a base image built from this suite surely has: Debian's Essential packages,
        `recipe` (what scripts/build-python-base-image.sh installs and keeps: python3, tzdata,
        ...) and what they depend on without an alternative. Not `Priority: required`: the base
        purges what lies outside that closure (apt, e2fsprogs, mount, passwd, ...). An `a | b`
        dependency assumes neither (debootstrap may have picked either), so a `.deb` needing one
        of those gets it fetched and the build installs it only if the base lacks it: assuming
        too little costs a download, assuming too much a failed `dpkg -i`. Once per index."""
        stamp = (self.root / _STAMP).stat().st_mtime
        key = (stamp, tuple(sorted(set(recipe))))
        if self._base is not None and self._base[0] == key:
            return self._base[1]
        essential: set[str] = set()
        depends: dict[str, str] = {}
        for stanza in (await self._apt("apt-cache", "dumpavail")).split("\n\n"):
            fields = dict(
                line.split(": ", 1)
                for line in stanza.splitlines()
                if ": " in line and line[0] != " "
            )
            name = fields.get("Package", "")
            if not name:
                continue
            if fields.get("Essential") == "yes":
                essential.add(name)
            clauses = (fields.get("Pre-Depends", ""), fields.get("Depends", ""))
            depends[name] = ", ".join(clause for clause in clauses if clause)
        base = sure_closure([*essential, *key[1]], depends)
        self._base = (key, base)
        return base

    async def closure(self, names: Iterable[str]) -> list[str]:
        """`names` and everything they depend on (Depends/Pre-Depends), recursively."""
        text = await self._apt(
            "apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
            "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *sorted(set(names)),
        )  # fmt: skip
        return sorted({line for line in text.splitlines() if line and line[0] not in " <|"})

    async def download(self, records: Iterable[PackageRecord]) -> list[Path]:
        """The `.deb` of every record, fetched unless already cached with the index's hash."""
        self.debs_dir.mkdir(parents=True, exist_ok=True)
        wanted = sorted(records, key=lambda record: record.name)
        paths = [self.debs_dir / Path(record.filename).name for record in wanted]
        missing = [
            (record, path)
            for record, path in zip(wanted, paths, strict=True)
            if not await asyncio.to_thread(_has_hash, path, record.sha256)
        ]
        if missing:
            async with self._locked():
                pins = [f"{record.name}={record.version}" for record, _ in missing]
                await self._apt("apt-get", "-q", "download", *pins, cwd=self.debs_dir)
                for record, path in missing:
                    # apt names the file after the version with its epoch (`1%3a1.2.13`); the
                    # pool's name (no epoch) is the one the archive and the image use.
                    arch = path.stem.rsplit("_", 1)[-1]
                    version = record.version.replace(":", "%3a")
                    downloaded = self.debs_dir / f"{record.name}_{version}_{arch}.deb"
                    if downloaded != path and downloaded.exists():
                        downloaded.replace(path)
        for record, path in zip(wanted, paths, strict=True):
            if not await asyncio.to_thread(_has_hash, path, record.sha256):
                raise AptError(f"{path.name} does not have the SHA-256 the signed index lists")
        return paths

    def _write_configuration(self) -> None:
        for directory in ("sources.list.d", "apt.conf.d", "preferences.d", "cache/archives/partial",
                          "state/lists/partial"):  # fmt: skip
            (self.root / directory).mkdir(parents=True, exist_ok=True)
        (self.root / "state" / "status").touch()
        (self.root / "apt.conf").write_text(_APT_CONF.format(root=self.root))
        (self.root / "sources.list").write_text(
            f"deb [signed-by={self._keyring}] {self.mirror} {self.suite} main\n"
        )

    async def _apt(self, *args: str, cwd: Path | None = None) -> str:
        env = {**os.environ, "APT_CONFIG": str(self.root / "apt.conf"), "LC_ALL": "C"}
        process = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), self._timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AptError(f"{' '.join(args[:2])} took longer than {self._timeout:.0f} s") from None
        if process.returncode != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()
            raise AptError(f"{' '.join(args[:2])} failed: {message[-1] if message else '?'}")
        return out.decode("utf-8", "replace")

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        # Resolvers of several processes share `root`: one apt at a time writes into it.
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as handle:
            await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _record(stanza: str) -> PackageRecord | None:
    fields: dict[str, str] = {}
    key = ""
    for line in stanza.splitlines():
        if line.startswith((" ", "\t")) and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if "Package" not in fields or "Filename" not in fields or "SHA256" not in fields:
        return None
    depends = ", ".join(part for part in (fields.get("Pre-Depends"), fields.get("Depends")) if part)
    return PackageRecord(
        name=fields["Package"],
        version=fields.get("Version", ""),
        priority=fields.get("Priority", ""),
        essential=fields.get("Essential", "") == "yes",
        depends=depends,
        filename=fields["Filename"],
        sha256=fields["SHA256"],
    )


def _has_hash(path: Path, sha256: str) -> bool:
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def sure_closure(roots: Iterable[str], depends: Mapping[str, str]) -> frozenset[str]:
    """`roots` and, recursively, every package named alone in a dependency clause of one of
    them (`depends`: name → its Pre-Depends and Depends as in the index). Clauses with
    alternatives (`a | b`) and virtual names (absent from `depends`) are not followed."""
    found: set[str] = set()
    pending = [name for name in roots if name in depends]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        for clause in depends[name].split(","):
            if "|" in clause or not clause.strip():
                continue
            target = clause.strip().split(" ", 1)[0].split("(", 1)[0].split(":", 1)[0]
            if target in depends:
                pending.append(target)
    return frozenset(found)
