"""Errors of the onboarding service; each renders as problem+json with a reason to act on."""

from __future__ import annotations

from modelbay_common.errors import BadRequest, Forbidden, PayloadTooLarge, UnprocessableContent


class InvalidModelName(BadRequest):
    """`owner` or `name` in the path cannot become a Docker repository path."""

    title = "Invalid model name"
    type_slug = "invalid-model-name"


class UploadTooLarge(PayloadTooLarge):
    title = "Bundle too large"
    type_slug = "bundle-too-large"


class UnsafeArchive(BadRequest):
    """The archive could harm whoever unpacks it (paths out, links, devices, bombs)."""

    title = "Unsafe bundle archive"
    type_slug = "unsafe-archive"


class CorruptArchive(BadRequest):
    """The body is not a readable gzip-compressed tar archive."""

    title = "Corrupt bundle archive"
    type_slug = "corrupt-archive"


class InvalidBundle(UnprocessableContent):
    """The archive is safe and readable, but its content breaks the bundle format."""

    title = "Invalid bundle"
    type_slug = "invalid-bundle"


class ImageNotInPlatformRegistry(UnprocessableContent):
    """A pre-built image named by a reference into another registry: the builder pulls only
    from the platform's own (docs/prebuilt-images.md)."""

    title = "Image not in the platform's registry"
    type_slug = "image-not-in-platform-registry"


class ImageRepositoryForbidden(Forbidden):
    """A pre-built image named by a reference outside the uploader's own staging space."""

    title = "Image repository not yours"
    type_slug = "image-repository-forbidden"


class PickleBlocked(UnprocessableContent):
    """The bundle's pickle imports a global that reaches the machine (docs/trust.md)."""

    title = "Pickle imports a blocked global"
    type_slug = "pickle-blocked"


class ResolutionError(Exception):
    """pip could not lock or download the requirements; `reason` is for the contributor."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class ResolverUnavailableError(Exception):
    """A transient failure (index unreachable, blob store down): the event is retried."""
