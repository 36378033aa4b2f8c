"""Abuse suite (issue 11): the malformed uploads the other upload tests do not try.

Already covered elsewhere: a tampered file (wrong checksum), a truncated and a random-bytes
body, `..` zip slip, an oversized body (test_onboarding_uploads.py), 1.5 M directory entries
and a huge PAX record (test_onboarding_archive_limits.py). Here, against real Postgres and S3:
absolute paths, symlinks, hardlinks, a device file, a gzip bomb, a body that is not gzip, an
unreadable manifest, a manifest missing its fields, duplicate entries and many tiny files.
Each is a 4xx problem+json that names the problem, stores nothing (no object, no upload row,
no outbox row), and takes no version number: the good bundle sent afterwards is version 1.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from onboarding_bundles import (
    archive,
    device,
    edit_manifest,
    link,
    make_bundle_dir,
    refresh_checksums,
    regular,
    tar_gz,
)
from onboarding_harness import OnboardingFactory

MIB = 1024 * 1024
MAX_FILES = 200  # this test's onboarding: the many-tiny-files case needs only a few hundred


def _members(archive_bytes: bytes) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The members of a real SDK archive, to add an attacker's entries to."""
    found: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as tar:
        for info in tar.getmembers():
            data = tar.extractfile(info) if info.isfile() else None
            found.append((info, data.read() if data is not None else None))
    return found


def _manifest_of(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> str:
    return next(info.name for info, _ in members if info.name.endswith("manifest.json"))


def _malformed(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """case → (body, a phrase the problem's title or detail must contain)."""
    good = archive(make_bundle_dir(tmp_path / "good"), tmp_path / "good.tar.gz").read_bytes()
    members = _members(good)
    manifest = _manifest_of(members)
    prefix = manifest[: -len("manifest.json")]

    missing = make_bundle_dir(tmp_path / "missing")
    edit_manifest(missing, lambda m: [m.pop(key, None) for key in ("methods", "name")])
    refresh_checksums(missing)

    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w") as tar:
        zeros = tarfile.TarInfo(f"{prefix}data/zeros.bin")
        zeros.size = 64 * MIB  # compresses ~1000:1
        tar.addfile(zeros, io.BytesIO(bytes(zeros.size)))

    return {
        "absolute path": (tar_gz([*members, regular("/etc/cron.d/modelbay-evil")]), "absolute"),
        "symlink": (tar_gz([*members, link(f"{prefix}code/evil.py", "/etc/passwd")]), "link"),
        "hardlink": (
            tar_gz([*members, link(f"{prefix}code/h.py", "/etc/passwd", tarfile.LNKTYPE)]),
            "link",
        ),
        "device file": (tar_gz([*members, device(f"{prefix}code/null")]), "device"),
        "gzip bomb": (gzip.compress(bomb.getvalue(), compresslevel=9), "expan"),
        "not gzip": (b"PK\x03\x04" + b"a zip, not a .tar.gz" * 50, "gzip"),
        "unreadable manifest": (
            tar_gz(
                [(info, b"{not json" if info.name == manifest else data) for info, data in members]
            ),
            "manifest",
        ),
        "manifest missing fields": (
            archive(missing, tmp_path / "missing.tar.gz").read_bytes(),
            "manifest",
        ),
        "duplicate entries": (
            tar_gz([*members, (tarfile.TarInfo(manifest), b'{"name": "other"}')]),
            "twice",
        ),
        "many tiny files": (
            tar_gz([*members, *(regular(f"{prefix}data/f{i}") for i in range(MAX_FILES + 50))]),
            "entries",
        ),
    }


async def test_malformed_uploads_are_refused_store_nothing_and_take_no_version(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(
        max_archive_files=MAX_FILES, expansion_ratio_floor_bytes=1 * MIB
    )
    refused: dict[str, str] = {}
    for case, (body, phrase) in _malformed(tmp_path).items():
        response = await onboarding.upload("alice/adder", body)
        assert 400 <= response.status_code < 500, f"{case}: {response.status_code} {response.text}"
        assert response.headers["content-type"] == "application/problem+json", case
        problem = response.json()
        said = f"{problem['title']} {problem.get('detail', '')} {json.dumps(problem.get('errors'))}"
        assert phrase.lower() in said.lower(), f"{case}: {problem}"
        refused[case] = f"{response.status_code} {problem['title']}"
        assert onboarding.list_objects() == [], case
        for table in ("uploads", "model_sequences", "outbox"):
            assert await onboarding.rows(f"SELECT 1 FROM onboarding.{table}") == [], (case, table)
    print(refused)  # the figures for docs/reliability.md (pytest -s)

    good = archive(make_bundle_dir(tmp_path / "after"), tmp_path / "after.tar.gz").read_bytes()
    accepted = await onboarding.upload("alice/adder", good)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["version"] == 1  # no refused upload took a number


@pytest.fixture(autouse=True)
def _no_escape() -> None:
    """Nothing written outside the spool by any case (absolute path, links)."""
    assert not Path("/etc/cron.d/modelbay-evil").exists()
