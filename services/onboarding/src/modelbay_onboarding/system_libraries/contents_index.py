"""Which package of a Debian suite ships a library file: the suite's `Contents-amd64.gz`.

`apt-file` is not installed on these machines and `dpkg -S` knows only installed packages, so the
resolver reads the Contents file itself (docs/decisions.md). It is downloaded once per signed
index (its SHA-256 must be the one the `Release` file that apt verified lists) and reduced to
`{library file name: [packages]}` for the directories the dynamic loader searches, kept as JSON
next to it; a look-up is then a dictionary read.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import urllib.request
from pathlib import Path

from modelbay_onboarding.system_libraries.apt_repository import AptError, AptRepository

_CONTENTS = "main/Contents-amd64.gz"
_LIBRARY_DIRS = ("usr/lib/x86_64-linux-gnu/", "lib/x86_64-linux-gnu/", "usr/lib/", "lib/")


class ContentsIndex:
    """Library file name → packages of one suite (loaded lazily, refreshed with the index)."""

    def __init__(self, repository: AptRepository, *, timeout_seconds: float = 300.0) -> None:
        self._repository = repository
        self._timeout = timeout_seconds
        self._loaded: tuple[str, dict[str, list[str]]] | None = None

    async def packages_shipping(self, soname: str) -> list[str]:
        """The packages whose files include `soname` in a library directory (sorted)."""
        index = await self._index()
        return index.get(soname, [])

    async def _index(self) -> dict[str, list[str]]:
        expected = self._expected_sha256()
        if self._loaded is not None and self._loaded[0] == expected:
            return self._loaded[1]
        reduced = self._repository.root / f"contents-{expected[:16]}.json"
        if not reduced.exists():
            await asyncio.to_thread(self._build, expected, reduced)
        index: dict[str, list[str]] = json.loads(reduced.read_text())
        self._loaded = (expected, index)
        return index

    def _expected_sha256(self) -> str:
        releases = sorted(
            self._repository.lists_dir.glob(f"*_dists_{self._repository.suite}_*Release")
        )
        for release in releases:
            in_sha256 = False
            for line in release.read_text("utf-8", "replace").splitlines():
                if not line.startswith(" "):
                    in_sha256 = line.startswith("SHA256:")
                    continue
                parts = line.split()
                if in_sha256 and len(parts) == 3 and parts[2] == _CONTENTS:
                    return parts[0]
        raise AptError(f"the signed Release of {self._repository.suite} lists no {_CONTENTS}")

    def _build(self, expected: str, reduced: Path) -> None:
        # By hash first (Acquire-By-Hash): a mirror updated since apt's update still serves the
        # bytes the signed Release names; the plain name for mirrors without by-hash.
        suite_url = f"{self._repository.mirror}/dists/{self._repository.suite}"
        urls = [f"{suite_url}/main/by-hash/SHA256/{expected}", f"{suite_url}/{_CONTENTS}"]
        download = reduced.with_suffix(".gz.part")
        for url in urls:
            if _download(url, download, self._timeout) == expected:
                break
        else:
            download.unlink(missing_ok=True)
            raise AptError(f"{urls[-1]} does not have the SHA-256 the signed Release lists")
        try:
            index: dict[str, set[str]] = {}
            with gzip.open(download, "rt", encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    path, _, locations = line.rstrip("\n").rpartition(" ")
                    path = path.strip()
                    if not path.startswith(_LIBRARY_DIRS) or ".so" not in path:
                        continue
                    directory, _, name = path.rpartition("/")
                    if f"{directory}/" not in _LIBRARY_DIRS:
                        continue
                    packages = (location.rpartition("/")[2] for location in locations.split(","))
                    index.setdefault(name, set()).update(packages)
        finally:
            download.unlink(missing_ok=True)
        temporary = reduced.with_suffix(".part")
        temporary.write_text(json.dumps({k: sorted(v) for k, v in sorted(index.items())}))
        temporary.replace(reduced)


def _download(url: str, target: Path, timeout: float) -> str | None:
    """Fetch `url` into `target`; its SHA-256, or None when the mirror does not serve it."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
            while chunk := response.read(1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
    except OSError:
        return None
    return digest.hexdigest()
