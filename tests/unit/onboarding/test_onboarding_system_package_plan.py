"""The planner's rules (system_libraries/planner.py) over a fake Debian suite: table before
Contents, unmet libraries and unknown declared packages fail with a contributor's reason, the
base's packages are not fetched unless pinned to an exact version, no apt for a lock that
needs nothing."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from modelbay_onboarding.errors import ResolutionError
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.system_libraries.apt_repository import PackageRecord
from modelbay_onboarding.system_libraries.planner import SystemPackagePlanner

SUITE = "bookworm"


def record(name: str, version: str = "1.0", depends: str = "") -> PackageRecord:
    return PackageRecord(name, version, "optional", False, depends, f"pool/{name}_{version}.deb",
                         "0" * 64)  # fmt: skip


INDEX = {
    "libgomp1": record("libgomp1", "12.2.0-14", "gcc-12-base (= 12.2.0-14), libc6 (>= 2.34)"),
    "gcc-12-base": record("gcc-12-base", "12.2.0-14"),
    "libc6": record("libc6", "2.36-9"),
    "zlib1g": record("zlib1g", "1:1.2.13", "libc6 (>= 2.14)"),
    "libsndfile1": record("libsndfile1", "1.2.0-1", "libc6, libflac12"),
    "libflac12": record("libflac12", "1.4.2", "libc6"),
    "libglib2.0-0t64": record("libglib2.0-0t64", "2.84", "libc6"),
}
DEPENDS = {
    "libgomp1": ["gcc-12-base", "libc6"],
    "zlib1g": ["libc6"],
    "libsndfile1": ["libc6", "libflac12"],
    "libflac12": ["libc6"],
    "libglib2.0-0t64": ["libc6"],
}
BASE = frozenset({"libc6", "gcc-12-base", "zlib1g"})


class FakeSuite:
    """The parts of AptRepository and ContentsIndex the planner calls."""

    suite = SUITE

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.downloaded: list[str] = []

    async def ensure_index(self) -> None:
        self.calls.append("update")

    async def records(self, names: Iterable[str]) -> dict[str, PackageRecord]:
        return {name: INDEX[name] for name in names if name in INDEX}

    async def closure(self, names: Iterable[str]) -> list[str]:
        found: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in found:
                found.add(name)
                pending += DEPENDS.get(name, [])
        return sorted(found)

    async def base_packages(self, recipe: Iterable[str]) -> frozenset[str]:
        return BASE

    async def download(self, records: Iterable[PackageRecord]) -> list[Path]:
        self.downloaded = sorted(r.name for r in records)
        return [Path("/cache") / f"{name}.deb" for name in self.downloaded]

    async def packages_shipping(self, soname: str) -> list[str]:
        return {"libglib-2.0.so.0": ["libglib2.0-0t64", "libglib2.0-dev"]}.get(soname, [])


def planner(**overrides: Any) -> tuple[SystemPackagePlanner, FakeSuite]:
    settings = OnboardingSettings(
        database_url="postgresql://unused/unused",
        bus_url="memory://",
        blob_url="file:///unused",
        **overrides,
    )
    fake = FakeSuite()
    planned = SystemPackagePlanner(settings)
    planned._suites[SUITE] = (fake, fake)  # type: ignore[assignment]
    return planned, fake


async def test_a_lock_that_needs_nothing_never_touches_apt() -> None:
    planned, fake = planner()
    assert await planned.plan({}, [], "3.11") is None
    assert fake.calls == []


async def test_libgomp_comes_from_the_table_with_its_exactly_pinned_base_package() -> None:
    planned, fake = planner()
    plan = await planned.plan({"libgomp.so.1": ("lightgbm",)}, [], "3.11")
    assert plan is not None
    described = {p.name: (p.version, p.reasons, p.fetched) for p in plan.packages}
    assert described == {
        "libgomp1": ("12.2.0-14", ("libgomp.so.1 for lightgbm",), True),
        # in the base, but libgomp1 pins it with `=`: the base may be of another point release
        "gcc-12-base": ("12.2.0-14", ("dependency of libgomp1",), True),
    }
    assert fake.downloaded == ["gcc-12-base", "libgomp1"]


async def test_a_library_every_base_has_never_touches_apt() -> None:
    planned, fake = planner()
    assert await planned.plan({"libz.so.1": ("numpy", "scipy")}, [], "3.11") is None
    assert fake.calls == []


async def test_a_package_the_base_has_is_listed_but_not_fetched() -> None:
    planned, fake = planner(system_library_packages={"libzother.so.1": "zlib1g"})
    plan = await planned.plan({"libzother.so.1": ("opencv-python-headless",)}, [], "3.11")
    assert plan is not None
    assert [(p.name, p.fetched) for p in plan.packages] == [("zlib1g", False)]
    assert plan.fetched == ()
    assert fake.downloaded == []


async def test_contents_names_a_package_the_table_does_not_have_in_this_suite() -> None:
    planned, _ = planner()  # the table says libglib2.0-0, this suite renamed it (t64)
    plan = await planned.plan({"libglib-2.0.so.0": ("opencv-python",)}, [], "3.11")
    assert plan is not None
    assert [p.name for p in plan.packages] == ["libglib2.0-0t64"]


async def test_declared_packages_are_merged_with_the_inferred_ones() -> None:
    planned, fake = planner()
    plan = await planned.plan({"libgomp.so.1": ("lightgbm",)}, ["libsndfile1"], "3.11")
    assert plan is not None
    reasons = {p.name: p.reasons for p in plan.packages}
    assert reasons["libsndfile1"] == ("declared",)
    assert reasons["libflac12"] == ("dependency of libsndfile1",)
    assert fake.downloaded == ["gcc-12-base", "libflac12", "libgomp1", "libsndfile1"]


async def test_an_unmet_library_names_the_distribution_and_the_soname() -> None:
    planned, _ = planner(system_library_packages={"libgomp.so.1": ""}, debian_contents_lookup=False)
    with pytest.raises(ResolutionError) as raised:
        await planned.plan({"libgomp.so.1": ("lightgbm",)}, [], "3.11")
    assert raised.value.reason == "lightgbm needs libgomp.so.1; no Debian package provides it here"


async def test_several_unmet_libraries_are_all_named() -> None:
    planned, _ = planner(debian_contents_lookup=False)
    with pytest.raises(ResolutionError) as raised:
        await planned.plan({"libmadeup.so.7": ("fancy",), "libother.so.1": ("fancy", "plain")},
                           [], "3.11")  # fmt: skip
    assert raised.value.reason == (
        "fancy needs libmadeup.so.7, libother.so.1; plain needs libother.so.1; "
        "no Debian package provides them here"
    )


async def test_a_declared_package_missing_from_the_suite_is_refused() -> None:
    planned, _ = planner()
    with pytest.raises(ResolutionError) as raised:
        await planned.plan({}, ["libnothere1"], "3.11")
    assert (
        raised.value.reason == "the declared system package libnothere1 is not in Debian bookworm"
    )


async def test_a_python_without_a_debian_suite_is_a_clear_failure() -> None:
    planned, _ = planner(debian_suites={"3.11": SUITE})
    with pytest.raises(ResolutionError) as raised:
        await planned.plan({"libgomp.so.1": ("lightgbm",)}, [], "3.12")
    assert "no Debian suite is configured for it" in raised.value.reason
