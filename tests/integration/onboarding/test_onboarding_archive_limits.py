"""Archives that cost memory, against real Postgres and S3 (issue 11, defect 6): refused with a
4xx and a reason, nothing stored, no version number taken."""

from __future__ import annotations

import tarfile
from pathlib import Path

from onboarding_bundles import archive, make_bundle_dir, regular, tar_gz
from onboarding_harness import Onboarding, OnboardingFactory


async def _assert_nothing_stored(onboarding: Onboarding) -> None:
    assert onboarding.list_objects() == []
    for table in ("uploads", "model_sequences", "outbox"):
        assert await onboarding.rows(f"SELECT 1 FROM onboarding.{table}") == [], table


def _directory(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info, None


async def test_many_directory_entries_and_a_huge_pax_record_are_refused_storing_nothing(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(max_archive_files=500)
    directories = tar_gz(
        [regular("manifest.json", b"{}")] + [_directory(f"d{i}") for i in range(5000)]
    )
    response = await onboarding.upload("alice/adder", directories)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "more than 500 entries (files and directories)" in response.json()["detail"]
    await _assert_nothing_stored(onboarding)

    padded = tarfile.TarInfo("code/a.py")
    padded.pax_headers = {"comment": "x" * (4 * 1024 * 1024)}  # 4 MiB > the 1 MiB default
    response = await onboarding.upload(
        "alice/adder", tar_gz([regular("manifest.json", b"{}"), (padded, b"print()")])
    )
    assert response.status_code == 400, response.text
    assert "extended header record" in response.json()["detail"]
    await _assert_nothing_stored(onboarding)

    # Neither refusal took a version number: the next good bundle is version 1.
    good = archive(make_bundle_dir(tmp_path / "adder"), tmp_path / "adder.tar.gz")
    accepted = await onboarding.upload("alice/adder", good.read_bytes())
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["version"] == 1
