"""The maintained soname → Debian package table, and Debian's package-name rule.

The table names the package that ships each library wheels commonly need from the system
(bookworm's names). It is consulted before Debian's Contents index because the index can list
several packages for one file, and a table entry says which one a model image wants. An entry
whose package is not in the target suite (trixie renamed many libraries to `...t64`) falls
through to the Contents index, which knows the suite's own name. Operators override or remove
entries with `MODELBAY_ONBOARDING_SYSTEM_LIBRARY_PACKAGES` (an empty package removes one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Debian Policy §5.6.1: lower case letters, digits, `+`, `-`, `.`; at least two characters,
# starting with an alphanumeric.
DEBIAN_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")

SONAME_PACKAGES: Mapping[str, str] = {
    # OpenMP and Fortran runtimes (LightGBM, XGBoost builds, SciPy-like wheels not vendoring them)
    "libgomp.so.1": "libgomp1",
    "libgfortran.so.5": "libgfortran5",
    "libquadmath.so.0": "libquadmath0",
    "libatomic.so.1": "libatomic1",
    # OpenCV (non-headless), Qt-free GUI bits and GL
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libXext.so.6": "libxext6",
    "libXrender.so.1": "libxrender1",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    # Audio (soundfile, librosa's backends)
    "libsndfile.so.1": "libsndfile1",
    "libasound.so.2": "libasound2",
    # Linear algebra when a wheel links the system's
    "libopenblas.so.0": "libopenblas0",
    "libblas.so.3": "libblas3",
    "liblapack.so.3": "liblapack3",
    # Compression, crypto and other usual suspects (most are already in a Debian base)
    "libz.so.1": "zlib1g",
    "libbz2.so.1.0": "libbz2-1.0",
    "liblzma.so.5": "liblzma5",
    "libzstd.so.1": "libzstd1",
    "liblz4.so.1": "liblz4-1",
    "libexpat.so.1": "libexpat1",
    "libffi.so.8": "libffi8",
    "libssl.so.3": "libssl3",
    "libcrypto.so.3": "libssl3",
    "libcrypt.so.1": "libcrypt1",
    "libuuid.so.1": "libuuid1",
    "libnuma.so.1": "libnuma1",
    "libtbb.so.12": "libtbb12",
    "libsqlite3.so.0": "libsqlite3-0",
    "libjpeg.so.62": "libjpeg62-turbo",
    "libpng16.so.16": "libpng16-16",
    "libgeos_c.so.1": "libgeos-c1v5",
    "libcurl.so.4": "libcurl4",
    "libpq.so.5": "libpq5",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libnsl.so.2": "libnsl2",
}


# Libraries every Modelbay base image has (Debian's required packages and python3's own
# dependencies, in bookworm and in trixie alike): dropped before planning, so the usual needs
# of NumPy, SciPy and friends (`libz.so.1`) never make a resolution touch apt or the network.
# tests/integration/test_base_image_sonames.py checks each against `ldconfig -p` of the bases.
BASE_IMAGE_SONAMES = frozenset(
    {
        "libz.so.1",
        "libbz2.so.1.0",
        "liblzma.so.5",
        "libzstd.so.1",
        "liblz4.so.1",
        "libexpat.so.1",
        "libssl.so.3",
        "libcrypto.so.3",
        "libffi.so.8",
        "libsqlite3.so.0",
        "libtinfo.so.6",
        "libncursesw.so.6",
        "libreadline.so.8",
        "libuuid.so.1",
        "libcrypt.so.1",
    }
)


def is_debian_package_name(name: str) -> bool:
    return bool(DEBIAN_PACKAGE_NAME.match(name))


def package_table(overrides: Mapping[str, str]) -> dict[str, str]:
    """The built-in table with an operator's overrides; an empty package removes the entry."""
    table = dict(SONAME_PACKAGES)
    for soname, package in overrides.items():
        if package:
            table[soname] = package
        else:
            table.pop(soname, None)
    return table
