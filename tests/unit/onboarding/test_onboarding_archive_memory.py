"""Archives that cost memory are refused before they do (issue 11, defect 6).

- Directory entries count against the file limit: 1.5 M of them in a 10.5 MB upload once
  passed (only regular files were counted) and cost onboarding +720 MB, because tarfile keeps
  every member's header.
- An extended header record (a PAX record, a GNU long name) is refused from its size field:
  tarfile reads such a record whole the moment it meets it, so a 150 MB PAX record once cost
  +459 MB before the 422. Memory is measured with tracemalloc around the read.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from modelbay_onboarding.errors import UnsafeArchive
from modelbay_onboarding.validation.archive import ArchiveLimits, read_archive
from onboarding_bundles import regular, tar_gz

MIB = 1024 * 1024
LIMITS = ArchiveLimits(
    max_files=1000,
    max_unpacked_bytes=1024 * MIB,
    max_expansion_ratio=1e9,  # the ratio guard is not what these tests are about
    expansion_ratio_floor_bytes=0,
    max_metadata_file_bytes=MIB,
    max_header_bytes=MIB,
)


def _directory(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info, None


def _refused_with_peak(tmp_path: Path, data: bytes) -> tuple[str, int]:
    """The refusal's detail and the peak of Python allocations while reading the archive."""
    path = tmp_path / "upload.tar.gz"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchive) as refused:
            read_archive(path, frozenset({"manifest.json"}), LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.status == 400
    return str(refused.value.detail), peak


def test_directory_entries_count_against_the_file_limit(tmp_path: Path) -> None:
    members = [regular("manifest.json", b"{}")]
    members += [_directory(f"d{i}") for i in range(5 * LIMITS.max_files)]
    data = tar_gz(members)

    detail, _ = _refused_with_peak(tmp_path, data)

    assert "more than 1000 entries (files and directories)" in detail
    assert len(data) < 100_000  # small on disk: what made the attack cheap


def test_a_huge_pax_record_is_refused_before_it_is_read(tmp_path: Path) -> None:
    record = 48 * MIB
    info = tarfile.TarInfo("code/a.py")
    info.pax_headers = {"comment": "x" * record}
    data = tar_gz([regular("manifest.json", b"{}"), (info, b"print()")])
    del info

    detail, peak = _refused_with_peak(tmp_path, data)

    assert "extended header record" in detail
    assert "PAX" in detail
    # Read whole, the record alone would be 48 MiB (and its decoded copy as much again).
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_huge_gnu_long_name_is_refused_before_it_is_read(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        long_name = "code/" + "n" * (2 * MIB) + ".py"
        info = tarfile.TarInfo(long_name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    detail, _ = _refused_with_peak(tmp_path, gzip.compress(raw.getvalue()))

    assert "extended header record" in detail


def test_global_pax_records_add_up_against_the_header_limit(tmp_path: Path) -> None:
    raw = io.BytesIO()
    chunk = "y" * (MIB // 2)
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(3):  # each under the limit, together over it: globals persist
            info = tarfile.TarInfo(f"code/f{i}.py")
            header = tarfile.TarInfo("pax_global_header")
            header.type = tarfile.XGLTYPE
            # The length prefix counts itself; recompute until it is consistent.
            text = f"g{i}={chunk}\n"
            length = len(text) + 1
            while len(f"{length} {text}") != length:
                length = len(f"{length} {text}")
            payload = f"{length} {text}".encode()
            header.size = len(payload)
            tar.addfile(header, io.BytesIO(payload))
            tar.addfile(info, io.BytesIO(b""))
    detail, _ = _refused_with_peak(tmp_path, gzip.compress(raw.getvalue()))

    assert "extended header record" in detail


def test_ordinary_pax_records_still_pass(tmp_path: Path) -> None:
    info = tarfile.TarInfo("code/" + "é" * 200 + ".py")  # non-ASCII long name: a PAX record
    path = tmp_path / "ok.tar.gz"
    path.write_bytes(tar_gz([regular("manifest.json", b"{}"), (info, b"x")]))
    contents = read_archive(path, frozenset({"manifest.json"}), LIMITS)
    assert len(contents.files) == 2
