"""The Debian packages a version's image got (docs/system-packages.md), as the version shows them.

The resolver sends them in `DependenciesResolved.system_packages`; the catalog stores them on the
version and answers them in its detail, next to the Python requirements and the lock.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SystemPackageItem(BaseModel):
    """One Debian package of a version's image and why it is there."""

    name: str = Field(description="the Debian package name, e.g. `libgomp1`")
    version: str = Field(default="", description="the Debian version fetched; empty if unknown")
    reasons: list[str] = Field(
        default_factory=list,
        description="why the image needs it: `declared` (the contributor's `system_packages`), "
        "`<soname> for <distribution>` (a wheel's ELF `DT_NEEDED`), or `dependency of <package>`",
    )
    fetched: bool = Field(
        default=True,
        description="false when the base image already has it (the build installs nothing)",
    )
