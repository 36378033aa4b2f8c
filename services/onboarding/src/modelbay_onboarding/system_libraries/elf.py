"""The dynamic section of an ELF shared object: its `DT_NEEDED` entries and its `DT_SONAME`.

Read with the standard library's `struct` (docs/decisions.md): the loader's own view of a file is
four small tables — the ELF header, the program headers, the `PT_DYNAMIC` segment and the dynamic
string table — so a dependency on pyelftools would buy nothing here. Both classes (32/64-bit)
and both byte orders are read, though the wheels of the image target are x86_64 little-endian.

`DT_STRTAB` holds a virtual address; it is turned into a file offset through the `PT_LOAD`
segment that maps it, exactly as the dynamic loader would find it in memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_SONAME = 14


class ElfError(ValueError):
    """The bytes are not an ELF file this reader understands (truncated, inconsistent)."""


@dataclass(frozen=True)
class DynamicSection:
    """What the dynamic loader reads of one shared object."""

    needed: tuple[str, ...]  # DT_NEEDED sonames, in file order
    soname: str | None  # DT_SONAME, when the object names itself


@dataclass(frozen=True)
class _Layout:
    """Struct formats of one ELF class and byte order."""

    order: str
    wide: bool  # ELFCLASS64

    @property
    def header(self) -> str:
        # e_phoff, e_phentsize, e_phnum (the fields this reader needs) at their offsets.
        return self.order + ("32xQ14xHH" if self.wide else "28xI10xHH")

    @property
    def program_header(self) -> str:
        # p_type, p_offset, p_vaddr, p_filesz
        return self.order + ("I4xQQ8xQ" if self.wide else "III4xI")

    @property
    def dynamic_entry(self) -> str:
        return self.order + ("qQ" if self.wide else "iI")


def is_elf(head: bytes) -> bool:
    return head[:4] == ELF_MAGIC


def read_dynamic_section(data: bytes) -> DynamicSection | None:
    """The dynamic section of `data`, or None for an ELF without one (a static object).

    Raises ElfError when `data` is not a well-formed ELF file.
    """
    if len(data) < 64 or not is_elf(data):
        raise ElfError("not an ELF file")
    layout = _layout(data)
    try:
        segments = _program_headers(data, layout)
        dynamic = next((seg for seg in segments if seg[0] == _PT_DYNAMIC), None)
        if dynamic is None:
            return None
        entries = _dynamic_entries(data, layout, offset=dynamic[1], size=dynamic[3])
        strtab_address = next((value for tag, value in entries if tag == _DT_STRTAB), None)
        if strtab_address is None:
            raise ElfError("the dynamic section has no DT_STRTAB")
        strtab = _file_offset(strtab_address, segments)
        needed = tuple(_string(data, strtab + value) for tag, value in entries if tag == _DT_NEEDED)
        soname = next((_string(data, strtab + v) for t, v in entries if t == _DT_SONAME), None)
    except struct.error as exc:
        raise ElfError(f"truncated ELF file: {exc}") from exc
    return DynamicSection(needed=needed, soname=soname)


def _layout(data: bytes) -> _Layout:
    elf_class, encoding = data[4], data[5]
    if elf_class not in (1, 2) or encoding not in (1, 2):
        raise ElfError(f"unknown ELF class {elf_class} or data encoding {encoding}")
    return _Layout(order="<" if encoding == 1 else ">", wide=elf_class == 2)


def _program_headers(data: bytes, layout: _Layout) -> list[tuple[int, int, int, int]]:
    phoff, phentsize, phnum = struct.unpack_from(layout.header, data, 0)
    if phentsize < struct.calcsize(layout.program_header):
        raise ElfError(f"program header entries of {phentsize} bytes are too small")
    return [
        struct.unpack_from(layout.program_header, data, phoff + index * phentsize)
        for index in range(phnum)
    ]


def _dynamic_entries(
    data: bytes, layout: _Layout, *, offset: int, size: int
) -> list[tuple[int, int]]:
    entry_size = struct.calcsize(layout.dynamic_entry)
    entries: list[tuple[int, int]] = []
    for position in range(offset, offset + size - entry_size + 1, entry_size):
        tag, value = struct.unpack_from(layout.dynamic_entry, data, position)
        if tag == _DT_NULL:
            break
        entries.append((tag, value))
    return entries


def _file_offset(address: int, segments: list[tuple[int, int, int, int]]) -> int:
    for kind, offset, vaddr, filesz in segments:
        if kind == _PT_LOAD and vaddr <= address < vaddr + filesz:
            return offset + (address - vaddr)
    raise ElfError(f"no loadable segment maps the string table at {address:#x}")


def _string(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    if offset >= len(data) or end < 0:
        raise ElfError(f"a dynamic string at {offset:#x} runs past the end of the file")
    return data[offset:end].decode("utf-8", "replace")
