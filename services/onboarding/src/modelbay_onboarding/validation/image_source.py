"""Where a pre-built image comes from: a `docker save` tarball in the bundle, or a reference
into the platform's registry (docs/prebuilt-images.md, "By reference").

The bundle check (`check_image_reference`, with the other bundle problems) only reads the
manifest: a well-formed reference with a tag or digest, and no `image.tar` beside it. Whether
the uploader may use it (`check_image_source`) needs the caller and the registry, so the upload
use case asks it after the bundle passed: the reference must be in this platform's registry
(the builder pulls from nowhere else) and in the uploader's own staging space, the one place
the gateway lets them push (`modelbay_common.image_reference`). Nothing is pulled here: a
reference to a missing image fails the build, naming it.
"""

from __future__ import annotations

from typing import Any

from modelbay_common.access import Caller
from modelbay_common.image_reference import (
    STAGING_NAMESPACE,
    ImageReference,
    parse_image_reference,
    staging_owner,
)

from modelbay_onboarding.errors import ImageNotInPlatformRegistry, ImageRepositoryForbidden
from modelbay_onboarding.validation.problems import BundleProblems

IMAGE_REFERENCE = "image_reference"  # the manifest field of a pre-built image by reference
FIELD = f"manifest.{IMAGE_REFERENCE}"


def declared_reference(extra: dict[str, Any] | None) -> object:
    """The manifest's `image_reference` as written (None when absent)."""
    return (extra or {}).get(IMAGE_REFERENCE)


def check_image_reference(raw: object, problems: BundleProblems) -> str | None:
    """The reference in its canonical form, or None after adding the problem."""
    if not isinstance(raw, str):
        problems.add(FIELD, "must be a string: REGISTRY/REPOSITORY:TAG or @sha256:DIGEST")
        return None
    parsed = parse_image_reference(raw)
    if isinstance(parsed, str):
        problems.add(FIELD, parsed)
        return None
    return str(parsed)


def check_image_source(reference: str, *, registry: str, caller: Caller) -> None:
    """Refuse a reference the builder must not pull for this uploader (4xx naming why)."""
    parsed = parse_image_reference(reference)
    assert isinstance(parsed, ImageReference), reference  # checked with the bundle
    where = {"field": FIELD, "reference": reference}
    if parsed.registry != registry:
        raise ImageNotInPlatformRegistry(
            f"{FIELD}: {reference} is in the registry {parsed.registry}; the platform pulls "
            f"pre-built images only from its own registry {registry}: docker push the image "
            f"to {registry}/{STAGING_NAMESPACE}/{caller.user}/<image>:<tag> first",
            extensions={**where, "registry": registry},
        )
    if staging_owner(parsed.repository) != caller.user:
        raise ImageRepositoryForbidden(
            f"{FIELD}: {parsed.repository} is not in your staging space "
            f"{STAGING_NAMESPACE}/{caller.user}/, the only repositories a push by reference may "
            "name (you may push there, nobody else may read them)",
            extensions=where,
        )
