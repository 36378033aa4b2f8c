"""Where every shared artifact lives: the one copy of each blob key layout.

Producers write and consumers read through these functions, so no service rebuilds another's key
from a naming convention (docs/pipeline.md lists who writes what):

- `bundles/sha256/<hex>.tar.gz`: written by onboarding; read by the resolver, the builder and
  the gateway's download;
- `interfaces/<owner>/<name>/<version>/model.proto` and `openapi.json`: written by onboarding;
  read by the builder (image labels), the catalog (version detail) and the gateway's download;
- `wheelhouses/<lock_hash>.tar`: written by the onboarding resolver; read by the builder;
- `system-libraries/<lock_hash>.json`: the shared libraries the lock's wheels need from the
  system (their ELF scan); written and read by the onboarding resolver (lock-cache hits);
- `system-packages/<hash>.tar`: the `.deb` files of a set of Debian packages, content-addressed
  over the suite and the `name=version` list; written by the onboarding resolver; read by the
  builder;
- `sboms/<owner>/<name>/<version>.cdx.json`: written by the builder; read by the gateway;
- `provenance/<owner>/<name>/<version>.intoto.json`: the signed (DSSE) in-toto/SLSA provenance,
  written by the builder; read by the gateway's download (docs/trust.md).

The image itself is not a blob: it lives in the OCI registry, and its `docker save` tarball is
streamed by the builder's internal API at `image_tarball_path(...)`.

Owners and model names are checked by onboarding (`[a-z0-9][a-z0-9._-]*`) before any key is
made from them, so they are safe key segments; `validate_key` is applied anyway.
"""

from __future__ import annotations

from urllib.parse import quote

from modelbay_common.blob.port import validate_key, validate_sha256

__all__ = [
    "IMAGE_TARBALL_ROUTE",
    "bundle_key",
    "image_tarball_path",
    "interface_prefix",
    "openapi_key",
    "proto_key",
    "provenance_key",
    "sbom_key",
    "system_packages_key",
    "wheelhouse_key",
    "wheelhouse_libraries_key",
]

IMAGE_TARBALL_ROUTE = "/internal/images/{owner}/{name}/{version}/tarball"
"""The builder's route (a FastAPI path template) that streams a version's image tarball."""


def bundle_key(sha256: str) -> str:
    """The uploaded archive, content-addressed: a re-push of the same bytes is stored once."""
    return validate_key(f"bundles/sha256/{validate_sha256(sha256)}.tar.gz")


def interface_prefix(owner: str, name: str, version: int) -> str:
    """The folder of a version's interface files, extracted at upload time."""
    return validate_key(f"interfaces/{owner}/{name}/{version}")


def proto_key(owner: str, name: str, version: int) -> str:
    return f"{interface_prefix(owner, name, version)}/model.proto"


def openapi_key(owner: str, name: str, version: int) -> str:
    return f"{interface_prefix(owner, name, version)}/openapi.json"


def wheelhouse_key(lock_hash: str) -> str:
    """The pinned wheels of one lock, shared by every model with that lock."""
    return validate_key(f"wheelhouses/{lock_hash}.tar")


def wheelhouse_libraries_key(lock_hash: str) -> str:
    """The ELF scan of a wheelhouse: `{soname: [distribution, ...]}` needed from the system."""
    return validate_key(f"system-libraries/{lock_hash}.json")


def system_packages_key(packages_hash: str) -> str:
    """The `.deb` files of one set of Debian packages, shared by every image that needs it."""
    return validate_key(f"system-packages/{validate_sha256(packages_hash)}.tar")


def sbom_key(owner: str, name: str, version: int) -> str:
    """The CycloneDX SBOM the builder writes once the image (or local process) is built."""
    return validate_key(f"sboms/{owner}/{name}/{version}.cdx.json")


def provenance_key(owner: str, name: str, version: int) -> str:
    """The DSSE envelope of the version's in-toto provenance statement (written by the builder)."""
    return validate_key(f"provenance/{owner}/{name}/{version}.intoto.json")


def image_tarball_path(owner: str, name: str, version: int) -> str:
    """The builder's URL path (not a blob key) that streams `docker save` of the version."""
    segments = {"owner": quote(owner, safe=""), "name": quote(name, safe="")}
    return IMAGE_TARBALL_ROUTE.format(version=int(version), **segments)
