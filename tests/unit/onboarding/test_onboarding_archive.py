"""Archive safety: every hostile archive is refused with a reason, before anything is read out."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest
from modelbay_onboarding.errors import CorruptArchive, UnsafeArchive
from modelbay_onboarding.validation.archive import (
    ArchiveContents,
    ArchiveLimits,
    read_archive,
    safe_member_name,
)
from onboarding_bundles import device, link, regular, tar_gz

LIMITS = ArchiveLimits(
    max_files=10,
    max_unpacked_bytes=1_000_000,
    max_expansion_ratio=20,
    expansion_ratio_floor_bytes=100_000,
    max_metadata_file_bytes=100_000,
)


def _read(tmp_path: Path, data: bytes, limits: ArchiveLimits = LIMITS) -> ArchiveContents:
    path = tmp_path / "upload.tar.gz"
    path.write_bytes(data)
    return read_archive(path, frozenset({"manifest.json"}), limits)


def _refusal(tmp_path: Path, data: bytes, limits: ArchiveLimits = LIMITS) -> str:
    with pytest.raises(UnsafeArchive) as refused:
        _read(tmp_path, data, limits)
    assert refused.value.status == 400
    return str(refused.value.detail)


def test_a_plain_archive_is_indexed_with_hashes_and_kept_metadata(tmp_path: Path) -> None:
    contents = _read(tmp_path, tar_gz([regular("manifest.json", b"{}"), regular("code/a.py")]))
    assert set(contents.files) == {"manifest.json", "code/a.py"}
    assert contents.kept == {"manifest.json": b"{}"}
    digest = contents.files["code/a.py"].sha256
    assert digest == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def test_zip_slip_with_dot_dot_is_refused(tmp_path: Path) -> None:
    detail = _refusal(tmp_path, tar_gz([regular("code/../../etc/cron.d/evil")]))
    assert "'..'" in detail
    assert "zip-slip" in detail


def test_absolute_path_is_refused(tmp_path: Path) -> None:
    assert "absolute path" in _refusal(tmp_path, tar_gz([regular("/etc/passwd")]))


def test_symlink_pointing_out_is_refused_and_named(tmp_path: Path) -> None:
    detail = _refusal(tmp_path, tar_gz([link("code/data", "../../../home/user/.ssh")]))
    assert "symlink" in detail
    assert "outside the bundle" in detail
    assert "code/data" in detail


def test_hard_link_is_refused(tmp_path: Path) -> None:
    detail = _refusal(tmp_path, tar_gz([link("model.pkl", "/etc/shadow", tarfile.LNKTYPE)]))
    assert "hard link" in detail


def test_device_file_is_refused(tmp_path: Path) -> None:
    assert "device file" in _refusal(tmp_path, tar_gz([device("code/null")]))


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    members = [regular(f"code/f{i}.py") for i in range(LIMITS.max_files + 1)]
    assert "more than 10 entries" in _refusal(tmp_path, tar_gz(members))


def test_a_decompression_bomb_is_stopped_by_the_expansion_ratio(tmp_path: Path) -> None:
    bomb = tar_gz([regular("code/zeros.bin", bytes(500_000))])  # ~500 KB of zeros, ~1 KB gz
    detail = _refusal(tmp_path, bomb)
    assert "expands more than 20 times" in detail


def test_total_unpacked_size_is_bounded(tmp_path: Path) -> None:
    limits = ArchiveLimits(10, 100_000, 1e9, 0, 100_000)
    detail = _refusal(tmp_path, tar_gz([regular("code/a.bin", bytes(200_000))]), limits)
    assert "more than 100000 bytes" in detail


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    detail = _refusal(tmp_path, tar_gz([regular("model.pkl"), regular("./model.pkl")]))
    assert "twice" in detail


def test_not_a_gzip_tar_is_a_corrupt_archive(tmp_path: Path) -> None:
    with pytest.raises(CorruptArchive, match="not a readable gzip-compressed tar"):
        _read(tmp_path, b"PK\x03\x04 this is a zip file, not a bundle")


def test_a_truncated_archive_is_a_corrupt_archive(tmp_path: Path) -> None:
    whole = tar_gz([regular("code/a.bin", bytes(range(256)) * 400)])
    with pytest.raises(CorruptArchive):
        _read(tmp_path, whole[: len(whole) // 2])


def test_gzip_of_garbage_is_a_corrupt_archive(tmp_path: Path) -> None:
    with pytest.raises(CorruptArchive):
        _read(tmp_path, gzip.compress(b"not a tar header" * 64))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("./manifest.json", "manifest.json"), ("code/pkg/", "code/pkg"), ("a/b.py", "a/b.py")],
)
def test_member_names_are_normalised(raw: str, expected: str) -> None:
    assert safe_member_name(raw) == expected


@pytest.mark.parametrize("raw", ["C:/x", "a\\..\\b", "a//b", "a/./b", "", "x\x00y"])
def test_odd_member_names_are_refused(raw: str) -> None:
    with pytest.raises(UnsafeArchive):
        safe_member_name(raw)
