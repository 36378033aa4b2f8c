"""Errors of the builder: API errors (problem+json) and the failures a build can end in."""

from __future__ import annotations

from typing import Any

from modelbay_common.errors import Conflict, NotFound, ServiceUnavailable


class BuildNotFound(NotFound):
    type_slug = "build-not-found"
    title = "Build not found"

    def __init__(self, owner: str, name: str, version: int) -> None:
        super().__init__(
            f"No build of {owner}/{name} version {version} is known to the builder.",
            extensions={"owner": owner, "name": name, "version": version},
        )


class ImageNotAvailable(Conflict):
    """The build exists but has no pushed image (still running, or failed)."""

    type_slug = "image-not-available"
    title = "Image not available"

    def __init__(self, owner: str, name: str, version: int, status: str) -> None:
        super().__init__(
            f"{owner}/{name} version {version} has no image to download (build status: {status}).",
            extensions={"owner": owner, "name": name, "version": version, "build_status": status},
        )


class WorkerNotLive(ServiceUnavailable):
    """`/healthz`: the build worker is wedged, dead or cut off from its database."""

    type_slug = "builder-not-live"
    title = "Build worker not live"

    def __init__(self, reason: str, facts: dict[str, Any]) -> None:
        super().__init__(reason, extensions={"worker": facts})


class DatabaseUnavailable(ServiceUnavailable):
    """`/readyz`: the builder's database does not answer."""

    type_slug = "database-unavailable"
    title = "Database unavailable"

    def __init__(self, error: str) -> None:
        super().__init__(f"The builder's database does not answer: {error}")


class BuildStepFailed(Exception):
    """`docker build`, fetching the inputs or the registry push failed: ImageBuildFailed."""

    def __init__(self, reason: str, log_tail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail


class RuntimeWheelError(Exception):
    """The model server wheel could not be found or built (a deployment problem)."""


class ImageValidationFailed(Exception):
    """The image did not become ready, or answered a sample wrongly: ValidationFailed."""

    def __init__(
        self,
        reason: str,
        *,
        method: str | None = None,
        sample_index: int | None = None,
        expected: object = None,
        actual: object = None,
        log_tail: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.method = method
        self.sample_index = sample_index
        self.expected = expected
        self.actual = actual
        self.log_tail = log_tail


class TryNotPossible(ServiceUnavailable):
    """ "Try it": the version's model could not be started or called (try_sandbox.py)."""

    type_slug = "try-not-possible"
    title = "The model could not be tried"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The model could not be called: {reason}.")
