"""The ELF reader and the wheel scan (system_libraries/elf.py, wheel_scan.py) on synthetic
shared objects: both ELF classes and byte orders, vendored libraries, the platform floor."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from modelbay_onboarding.system_libraries.elf import ElfError, read_dynamic_section
from modelbay_onboarding.system_libraries.wheel_scan import (
    needs_from_json,
    needs_from_system,
    needs_to_json,
    scan_directory,
    scan_wheel,
)

DT_NEEDED, DT_STRTAB, DT_SONAME = 1, 5, 14


def make_elf(needed: list[str], soname: str | None = None, *, wide: bool = True,
             order: str = "<") -> bytes:  # fmt: skip
    """A minimal shared object: ELF header, PT_LOAD + PT_DYNAMIC, dynamic section, strtab.

    The string table sits at file offset STRTAB and is mapped at virtual address VADDR +
    STRTAB, so the reader must translate DT_STRTAB through the PT_LOAD segment."""
    vaddr = 0x400000
    strings = b"\0"
    offsets = []
    for name in [*needed, *([soname] if soname else [])]:
        offsets.append(len(strings))
        strings += name.encode() + b"\0"
    ehsize, phentsize = (64, 56) if wide else (52, 32)
    dyn_entry = "qQ" if wide else "iI"
    phoff = ehsize
    dynamic_offset = phoff + 2 * phentsize
    entries = [(DT_NEEDED, off) for off in offsets[: len(needed)]]
    if soname:
        entries.append((DT_SONAME, offsets[-1]))
    strtab_offset = dynamic_offset + (len(entries) + 2) * struct.calcsize(order + dyn_entry)
    entries.append((DT_STRTAB, vaddr + strtab_offset))
    entries.append((0, 0))
    dynamic = b"".join(struct.pack(order + dyn_entry, tag, value) for tag, value in entries)
    size = strtab_offset + len(strings)
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if order == "<" else 2, 1]) + bytes(9)
    if wide:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0,
                                     ehsize, phentsize, 2, 64, 0, 0)  # fmt: skip
        load = struct.pack(order + "IIQQQQQQ", 1, 5, 0, vaddr, vaddr, size, size, 0x1000)
        dyn = struct.pack(order + "IIQQQQQQ", 2, 6, dynamic_offset, vaddr + dynamic_offset,
                          vaddr + dynamic_offset, len(dynamic), len(dynamic), 8)  # fmt: skip
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", 3, 3, 1, 0, phoff, 0, 0,
                                     ehsize, phentsize, 2, 40, 0, 0)  # fmt: skip
        load = struct.pack(order + "IIIIIIII", 1, 0, vaddr, vaddr, size, size, 5, 0x1000)
        dyn = struct.pack(order + "IIIIIIII", 2, dynamic_offset, vaddr + dynamic_offset,
                          vaddr + dynamic_offset, len(dynamic), len(dynamic), 6, 4)  # fmt: skip
    data = header + load + dyn + dynamic + strings
    assert len(data) == size
    return data


@pytest.mark.parametrize(("wide", "order"), [(True, "<"), (True, ">"), (False, "<"), (False, ">")])
def test_needed_and_soname_are_read_in_every_class_and_byte_order(wide: bool, order: str) -> None:
    data = make_elf(["libgomp.so.1", "libc.so.6"], "lib_lightgbm.so", wide=wide, order=order)
    dynamic = read_dynamic_section(data)
    assert dynamic is not None
    assert dynamic.needed == ("libgomp.so.1", "libc.so.6")
    assert dynamic.soname == "lib_lightgbm.so"


def test_a_file_that_is_not_elf_or_is_truncated_is_an_elf_error() -> None:
    with pytest.raises(ElfError):
        read_dynamic_section(b"#!/bin/sh\n" * 10)
    with pytest.raises(ElfError):
        read_dynamic_section(make_elf(["libgomp.so.1"])[:120])


def make_wheel(directory: Path, filename: str, members: dict[str, bytes]) -> Path:
    path = directory / filename
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
    return path


def test_vendored_libraries_and_the_platform_floor_are_not_needed_from_the_system(
    tmp_path: Path,
) -> None:
    make_wheel(
        tmp_path,
        "lightgbm-4.7.0-py3-none-manylinux_2_28_x86_64.whl",
        {
            "lightgbm/lib/lib_lightgbm.so": make_elf(
                ["libgomp.so.1", "libstdc++.so.6", "libm.so.6", "libc.so.6"]
            ),
            "lightgbm/__init__.py": b"",
        },
    )
    make_wheel(
        tmp_path,
        "opencv_python_headless-4.14.0.94-cp37-abi3-manylinux_2_28_x86_64.whl",
        {
            "cv2/cv2.abi3.so": make_elf(["libavcodec-57aca189.so.62", "libz.so.1", "libc.so.6"]),
            # auditwheel's vendored copy: named by its DT_SONAME and by its file name
            "opencv_python_headless.libs/libavcodec-57aca189.so.62.28.102": make_elf(
                ["libc.so.6"], "libavcodec-57aca189.so.62"
            ),
            "cv2/data/readme.so.txt": b"not an ELF file",
        },
    )
    assert scan_directory(tmp_path) == {
        "libgomp.so.1": ("lightgbm",),
        "libz.so.1": ("opencv-python-headless",),
    }


def test_a_library_shipped_by_another_wheel_of_the_lock_is_met(tmp_path: Path) -> None:
    user = make_wheel(tmp_path, "user-1.0-py3-none-any.whl",
                      {"user/_ext.so": make_elf(["libshared.so.3"])})  # fmt: skip
    provider = make_wheel(tmp_path, "provider-1.0-py3-none-any.whl",
                          {"provider/libshared.so.3": make_elf([], "libshared.so.3")})  # fmt: skip
    assert needs_from_system([scan_wheel(user), scan_wheel(provider)]) == {}
    assert needs_from_system([scan_wheel(user)]) == {"libshared.so.3": ("user",)}


def test_the_stored_scan_round_trips_and_a_foreign_file_is_refused() -> None:
    needs = {"libgomp.so.1": ("lightgbm", "xgboost")}
    assert needs_from_json(needs_to_json(needs)) == needs
    with pytest.raises(ValueError, match="distribution"):
        needs_from_json({"libgomp.so.1": "lightgbm"})


def test_the_gpu_driver_libraries_come_from_the_host_not_from_a_package(tmp_path: Path) -> None:
    # torch's CUDA wheel links libcuda.so.1 (found by hand on 2026-12-07: its resolution failed
    # with "torch needs libcuda.so.1; no Debian package provides it here").
    library = make_elf(["libcuda.so.1", "libnvrtc.so.13"])
    wheel = make_wheel(tmp_path, "torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl",
                       {"torch/lib/libcaffe2_nvrtc.so": library})  # fmt: skip
    assert needs_from_system([scan_wheel(wheel)]) == {"libnvrtc.so.13": ("torch",)}
