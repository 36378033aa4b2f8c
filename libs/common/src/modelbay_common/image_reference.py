"""Image references into the platform's registry, and the staging space users may push to.

A pre-built image can be pushed by reference (docs/prebuilt-images.md): the contributor first
pushes it with `docker push` into **their staging space**, `<registry>/staging/<username>/...`,
then names it in the bundle's manifest. Two services apply the rule and it lives here once:

- the gateway's token endpoint grants a signed-in user `pull` and `push` on repositories under
  `staging/<their username>/` and nothing else of the staging space (`staging_owner`);
- onboarding accepts a reference only when it is in this registry and in the uploader's own
  staging space (`parse_image_reference`, `staging_owner`).

Model repositories are always exactly `<owner>/<name>` (two components), staging ones at
least three (`staging/<user>/<image>`), so a user's push can never land in a model's repository
(the builder adopts an image a model's repository already holds as that version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["STAGING_NAMESPACE", "ImageReference", "parse_image_reference", "staging_owner"]

STAGING_NAMESPACE = "staging"
# Distribution's reference grammar (distribution/reference/regexp.go), lower-case paths only.
_HOST = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
)
_HOST += r"|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?P<host>{_HOST})/(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class ImageReference:
    """`host[:port]/repository[:tag][@sha256:...]`, with a tag or a digest (or both)."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_reference(text: str) -> ImageReference | str:
    """The reference, or why `text` is not one. The registry host must be explicit (a bare
    `my-model:1` would mean Docker Hub) and so must a tag or digest (no implicit `latest`)."""
    match = _REFERENCE.match(text.strip())
    if match is None or not _looks_like_host(match["host"]):
        return (
            f"{text!r} is not an image reference REGISTRY/REPOSITORY:TAG or "
            "REGISTRY/REPOSITORY@sha256:DIGEST (with the registry's host)"
        )
    if not match["tag"] and not match["digest"]:
        return f"{text!r} names no tag or digest (add :TAG or @sha256:DIGEST)"
    return ImageReference(match["host"], match["repository"], match["tag"], match["digest"])


def _looks_like_host(first: str) -> bool:
    """Docker's own rule: the first component is a registry when it has a `.` or a `:` or is
    `localhost`; otherwise it is a Docker Hub namespace."""
    return "." in first or ":" in first or first == "localhost" or first.startswith("[")


def staging_owner(repository: str) -> str | None:
    """The username whose staging space holds `repository` (`staging/alice/thermo` → `alice`),
    or None when it is not a staging repository (which needs an image name under the user)."""
    parts = repository.split("/")
    if len(parts) < 3 or parts[0] != STAGING_NAMESPACE or not parts[1]:
        return None
    return parts[1]
