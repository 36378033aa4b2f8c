"""Errors of the gateway, each rendered as RFC 9457 problem+json by the common handlers."""

from __future__ import annotations

from typing import Any

from modelbay_common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    ModelbayError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
)

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="modelbay"'}


class MissingToken(Unauthorized):
    type_slug = "missing-token"
    title = "Authentication required"

    def __init__(self) -> None:
        super().__init__(
            "Send an API token as `Authorization: Bearer <token>` (create one with "
            "POST /v1/tokens, or ask an administrator for an account).",
            headers=_BEARER_CHALLENGE,
        )


class InvalidToken(Unauthorized):
    type_slug = "invalid-token"
    title = "Invalid token"

    def __init__(self) -> None:
        super().__init__(
            "The API token is unknown or was revoked; create a new one or run `modelbay login`.",
            headers={"WWW-Authenticate": 'Bearer realm="modelbay", error="invalid_token"'},
        )


class AdminRequired(Forbidden):
    type_slug = "admin-required"
    title = "Administrator required"

    def __init__(self, action: str) -> None:
        super().__init__(f"Only an administrator may {action}.")


class NotYourNamespace(Forbidden):
    """Pushing into another user's namespace; says nothing about the models in it."""

    type_slug = "not-your-namespace"
    title = "Not your namespace"

    def __init__(self, owner: str, username: str) -> None:
        super().__init__(
            f"You are signed in as {username!r} and may only push models as {username}/<name> "
            f"or into an organisation you own or maintain, not into {owner!r}.",
            extensions={"owner": owner},
        )


class UserExists(Conflict):
    type_slug = "user-exists"
    title = "User exists"

    def __init__(self, username: str) -> None:
        super().__init__(
            f"A user named {username!r} already exists.", extensions={"username": username}
        )


class TokenNotFound(NotFound):
    type_slug = "token-not-found"
    title = "Token not found"

    def __init__(self, token_id: str) -> None:
        super().__init__(
            f"You have no token with id {token_id}.", extensions={"token_id": token_id}
        )


class UploadTooLarge(PayloadTooLarge):
    type_slug = "upload-too-large"
    title = "Upload too large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The bundle is larger than the {limit} bytes this platform accepts; remove large "
            "files from the bundle (data sets, checkpoints) or ask the operator to raise "
            "MODELBAY_GATEWAY_MAX_UPLOAD_BYTES.",
            extensions={"max_bytes": limit},
        )


class ArtifactNotAvailable(NotFound):
    type_slug = "artifact-not-available"
    title = "Artifact not available"

    def __init__(self, kind: str, owner: str, name: str, version: int, why: str) -> None:
        super().__init__(
            f"The {kind} of {owner}/{name} version {version} is not available: {why}",
            extensions={"kind": kind, "owner": owner, "name": name, "version": version},
        )


class CorruptArtifact(ModelbayError):
    status = 500
    title = "Stored artifact is corrupt"
    type_slug = "corrupt-artifact"


class UpstreamUnavailable(ServiceUnavailable):
    type_slug = "upstream-unavailable"
    title = "Service unavailable"

    def __init__(self, service: str) -> None:
        super().__init__(
            f"The {service} service did not answer; try again shortly.",
            extensions={"service": service},
            headers={"Retry-After": "5"},
        )


class UpstreamProblem(Exception):
    """An internal service answered with a 4xx problem: relayed to the caller as it is."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status}: {problem.get('title')}")


class UpstreamFailed(ModelbayError):
    """An internal service failed (5xx) or answered something that is not its contract."""

    status = 502
    title = "Bad Gateway"
    type_slug = "upstream-failed"

    def __init__(self, service: str) -> None:
        super().__init__(
            f"The {service} service failed to handle the request; the error has been logged.",
            extensions={"service": service},
        )


# -- the registry's token endpoint (api_registry.py) --------------------------------------------

_REGISTRY_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="modelbay-registry"'}


class RegistryCredentialsRefused(Unauthorized):
    """`docker login` sent a username and API token that do not belong together."""

    type_slug = "registry-credentials-refused"
    title = "Registry credentials refused"

    def __init__(self) -> None:
        super().__init__(
            "Log in with your Modelbay username and an API token "
            "(`docker login <registry> -u <username>`, the token as the password).",
            headers=_REGISTRY_BASIC_CHALLENGE,
        )


class RegistryAuthNotConfigured(NotFound):
    type_slug = "registry-auth-not-configured"
    title = "Registry tokens are not issued here"

    def __init__(self) -> None:
        super().__init__(
            "This platform's registry is not behind token auth "
            "(MODELBAY_REGISTRY_TOKEN_KEY_FILE is unset); pull without a token."
        )


class UnknownRegistryService(BadRequest):
    type_slug = "unknown-registry-service"
    title = "Unknown registry service"

    def __init__(self, asked: str, served: str) -> None:
        super().__init__(
            f"Tokens are issued for the service {served!r}, not {asked!r}.",
            extensions={"service": asked},
        )


class InvalidRegistryScope(BadRequest):
    type_slug = "invalid-scope"
    title = "Invalid scope"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"{reason}; a scope is `repository:<owner>/<name>:pull`.",
        )


# -- deployment artifacts (api_deploy.py) -------------------------------------------------------


class DeploymentNotAvailable(Conflict):
    """The version cannot be deployed from images (yet): not ready, no registry image, or a
    solution node that is gone, private or has no image. The detail says which and why."""

    type_slug = "deployment-not-available"
    title = "Deployment artifacts not available"

    def __init__(self, owner: str, name: str, version: int, why: str) -> None:
        super().__init__(
            f"{owner}/{name} version {version} cannot be deployed: {why}",
            extensions={"owner": owner, "name": name, "version": version},
        )


class OrgNotFound(NotFound):
    """No organisation of this name that the caller belongs to (administrators see all)."""

    type_slug = "org-not-found"
    title = "Organisation not found"

    def __init__(self, org: str) -> None:
        super().__init__(
            f"There is no organisation {org!r}, or you are not a member of it.",
            extensions={"org": org},
        )


class NamespaceTaken(Conflict):
    """Users and organisations share one namespace: a model's owner names exactly one."""

    type_slug = "namespace-taken"
    title = "Name taken"

    def __init__(self, name: str, by: str) -> None:
        super().__init__(
            f"The name {name!r} is already used by {by}; users and organisations share one "
            "namespace (it is the owner part of a model's name).",
            extensions={"name": name},
        )


class OrgOwnerRequired(Forbidden):
    type_slug = "org-owner-required"
    title = "Organisation owner required"

    def __init__(self, org: str) -> None:
        super().__init__(
            f"Only an owner of {org!r} (or an administrator) may manage its members.",
            extensions={"org": org},
        )


class UnknownUser(NotFound):
    type_slug = "user-not-found"
    title = "User not found"

    def __init__(self, username: str) -> None:
        super().__init__(f"There is no user {username!r}.", extensions={"username": username})


class MemberNotFound(NotFound):
    type_slug = "member-not-found"
    title = "Member not found"

    def __init__(self, org: str, username: str) -> None:
        super().__init__(
            f"{username!r} is not a member of {org!r}.",
            extensions={"org": org, "username": username},
        )


class LastOwner(Conflict):
    """An organisation always keeps an owner, or nobody could manage it again."""

    type_slug = "last-owner"
    title = "Last owner"

    def __init__(self, org: str, username: str) -> None:
        super().__init__(
            f"{username!r} is the last owner of {org!r}; make another member an owner first.",
            extensions={"org": org, "username": username},
        )


# -- "Try it" (service_try.py) -----------------------------------------------------------------


class TryNotAvailable(Conflict):
    """The version cannot be tried: not ready, no such method, or a body too large."""

    type_slug = "try-not-available"
    title = "This version cannot be tried"

    def __init__(self, owner: str, name: str, version: int, why: str) -> None:
        super().__init__(
            f"{owner}/{name} version {version} cannot be tried: {why}.",
            extensions={"owner": owner, "name": name, "version": version},
        )


class ModelNotStarted(ServiceUnavailable):
    """The builder could not start the version's sandbox or reach its model server; the reason
    is the model's (it did not load, it crashed), so the detail says it."""

    type_slug = "model-not-started"
    title = "The model did not answer"

    def __init__(self, owner: str, name: str, version: int, reason: str) -> None:
        super().__init__(
            f"{owner}/{name} version {version} could not be run: {reason}",
            extensions={"owner": owner, "name": name, "version": version},
        )
