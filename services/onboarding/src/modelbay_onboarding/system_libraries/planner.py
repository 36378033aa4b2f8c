"""From what the wheels need and what the contributor declared to Debian packages and `.deb`s.

`SystemPackagePlanner.plan` runs after the lock (docs/system-packages.md):

1. sonames every base image has (`BASE_IMAGE_SONAMES`: zlib, OpenSSL, libffi, ...) are dropped;
   each other soname the wheels need from the system is looked up in the maintained table
   (package_table.py), then in the suite's Contents index; a soname no package of the suite ships
   fails the resolution with "lightgbm needs libgomp.so.1; no Debian package provides it here";
2. declared packages must exist in the suite;
3. the dependency closure of both is taken from the suite's index; packages every Debian system
   has (`Priority: required`, `Essential`) and what the base image's recipe installs
   (`DEBIAN_BASE_PACKAGES`), with their closure, are not fetched — unless a fetched package pins
   one to an exact version (`libgomp1` pins `gcc-12-base (= ...)`), when the pinned version
   travels too; the build installs only what its base does not already have at that version;
4. the `.deb` files are downloaded (checked against the signed index) into the suite's cache.

Nothing happens — no apt, no network — for a lock that needs nothing and declares nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from modelbay_common.events.pipeline import SystemPackage

from modelbay_onboarding.errors import ResolutionError, ResolverUnavailableError
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.system_libraries.apt_repository import (
    AptError,
    AptRepository,
    PackageRecord,
)
from modelbay_onboarding.system_libraries.contents_index import ContentsIndex
from modelbay_onboarding.system_libraries.package_table import BASE_IMAGE_SONAMES, package_table

DECLARED = "declared"


@dataclass(frozen=True)
class SystemPackagePlan:
    """The packages an image needs (for the event and the SBOM) and the `.deb`s to install."""

    suite: str
    packages: tuple[SystemPackage, ...]
    debs: tuple[Path, ...]

    @property
    def fetched(self) -> tuple[SystemPackage, ...]:
        return tuple(package for package in self.packages if package.fetched)


class SystemPackagePlanner:
    """One per resolver; keeps one apt repository (and Contents index) per Debian suite."""

    def __init__(self, settings: OnboardingSettings) -> None:
        self._settings = settings
        self._table = package_table(settings.system_library_packages)
        self._suites: dict[str, tuple[AptRepository, ContentsIndex]] = {}

    async def plan(
        self, needs: Mapping[str, Iterable[str]], declared: Iterable[str], python_version: str
    ) -> SystemPackagePlan | None:
        """The plan, or None when nothing is needed; raises ResolutionError for the contributor's
        problems and ResolverUnavailableError when the mirror cannot be read (retried)."""
        sorted_needs = {
            soname: tuple(sorted(dists))
            for soname, dists in needs.items()
            if soname not in BASE_IMAGE_SONAMES
        }
        declared = sorted(set(declared))
        if not sorted_needs and not declared:
            return None
        suite = self._settings.debian_suites.get(python_version)
        if suite is None:
            raise ResolutionError(
                f"this platform cannot install system packages for Python {python_version} "
                f"(needed: {', '.join(sorted(sorted_needs) or declared)}); no Debian suite is "
                "configured for it"
            )
        repository, contents = self._suite(suite)
        try:
            await repository.ensure_index()
            wanted = await self._wanted(repository, contents, sorted_needs, declared)
            records = await repository.records(await repository.closure(wanted))
            base = await repository.base_packages(self._settings.debian_base_packages)
            packages, chosen = _choose(wanted, records, base)
            debs = await repository.download(chosen)
        except AptError as exc:
            raise ResolverUnavailableError(f"Debian {suite}: {exc}") from exc
        return SystemPackagePlan(suite, packages, tuple(debs))

    def _suite(self, suite: str) -> tuple[AptRepository, ContentsIndex]:
        if suite not in self._suites:
            repository = AptRepository(
                root=self._settings.debian_cache_root / suite,
                mirror=self._settings.debian_mirror,
                suite=suite,
                keyring=self._settings.debian_keyring,
                max_index_age_seconds=self._settings.debian_index_max_age_seconds,
            )
            self._suites[suite] = (repository, ContentsIndex(repository))
        return self._suites[suite]

    async def _wanted(
        self,
        repository: AptRepository,
        contents: ContentsIndex,
        needs: Mapping[str, tuple[str, ...]],
        declared: list[str],
    ) -> dict[str, list[str]]:
        """package → reasons, for the needed sonames and the declared packages."""
        table_packages = {self._table[soname] for soname in needs if soname in self._table}
        known = await repository.records([*table_packages, *declared])
        wanted: dict[str, list[str]] = {}
        unmet: dict[str, list[str]] = {}
        for soname, distributions in needs.items():
            package = await self._package_for(soname, known, contents)
            if package is None:
                for distribution in distributions:
                    unmet.setdefault(distribution, []).append(soname)
                continue
            wanted.setdefault(package, []).extend(f"{soname} for {d}" for d in distributions)
        if unmet:
            raise ResolutionError(_unmet_reason(unmet, repository.suite))
        missing = [name for name in declared if name not in known]
        if missing:
            raise ResolutionError(
                f"the declared system package{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} not in Debian "
                f"{repository.suite}"
            )
        for name in declared:
            wanted.setdefault(name, []).insert(0, DECLARED)
        return wanted

    async def _package_for(
        self, soname: str, known: Mapping[str, PackageRecord], contents: ContentsIndex
    ) -> str | None:
        package = self._table.get(soname)
        if package is not None and package in known:
            return package
        if not self._settings.debian_contents_lookup:
            return None
        shipping = [
            name
            for name in await contents.packages_shipping(soname)
            if not name.endswith(("-dev", "-dbg", "-dbgsym"))
        ]
        return shipping[0] if shipping else None


def _unmet_reason(unmet: Mapping[str, list[str]], suite: str) -> str:
    needs = "; ".join(
        f"{distribution} needs {', '.join(sorted(sonames))}"
        for distribution, sonames in sorted(unmet.items())
    )
    several = sum(len(sonames) for sonames in unmet.values()) > 1
    return f"{needs}; no Debian package provides {'them' if several else 'it'} here"


def _choose(
    wanted: Mapping[str, list[str]],
    records: Mapping[str, PackageRecord],
    base: frozenset[str],
) -> tuple[tuple[SystemPackage, ...], list[PackageRecord]]:
    """Which packages of the closure travel, and the event's description of every package."""
    fetched = {name for name in records if name not in base}
    for name in list(fetched):
        for pinned, version in records[name].exact_pins():
            if pinned in records and records[pinned].version == version:
                fetched.add(pinned)  # the base's copy may be of another point release
    packages = []
    for name, record in sorted(records.items()):
        reasons = tuple(wanted.get(name, ())) or (_dependency_reason(name, records, wanted),)
        if name not in wanted and name not in fetched:
            continue  # a dependency the base has: nothing to install, nothing to say
        packages.append(
            SystemPackage(
                name=name, version=record.version, reasons=reasons, fetched=name in fetched
            )
        )
    return tuple(packages), [records[name] for name in sorted(fetched)]


def _dependency_reason(
    name: str, records: Mapping[str, PackageRecord], wanted: Mapping[str, list[str]]
) -> str:
    parents = sorted(
        other for other, record in records.items() if other != name and _depends_on(record, name)
    )
    top = [parent for parent in parents if parent in wanted] or parents
    return f"dependency of {top[0]}" if top else "dependency"


def _depends_on(record: PackageRecord, name: str) -> bool:
    for clause in record.depends.split(","):
        for alternative in clause.split("|"):
            if alternative.strip().split(" ", 1)[0].split(":", 1)[0] == name:
                return True
    return False
