"""Errors of the catalog, each rendered as RFC 9457 problem+json by the common handlers."""

from __future__ import annotations

from modelbay_common.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized


class ModelNotFound(NotFound):
    """No model the caller may see has this name (missing and invisible look the same)."""

    type_slug = "model-not-found"
    title = "Model not found"

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(
            f"There is no model {owner}/{name}, or you may not see it.",
            extensions={"owner": owner, "name": name},
        )


class VersionNotFound(NotFound):
    type_slug = "version-not-found"
    title = "Version not found"

    def __init__(self, owner: str, name: str, version: int) -> None:
        super().__init__(
            f"Model {owner}/{name} has no version {version}.",
            extensions={"owner": owner, "name": name, "version": version},
        )


class VersionNotReady(Conflict):
    """Publishing needs a `ready` version: the image exists and passed its samples."""

    type_slug = "version-not-ready"
    title = "Version not ready"

    def __init__(self, owner: str, name: str, version: int | None, status: str | None) -> None:
        if version is None:
            detail = (
                f"Model {owner}/{name} has no ready version yet; publish once a version has "
                "finished building (its status is 'ready')."
            )
        elif status == "failed":
            detail = f"Version {version} of {owner}/{name} failed and can never be published."
        else:
            detail = (
                f"Version {version} of {owner}/{name} is '{status}', not 'ready'; publish it "
                "once its image has been built and validated."
            )
        super().__init__(
            detail,
            extensions={
                "owner": owner,
                "name": name,
                "version": version,
                "version_status": status,
            },
        )


class NotModelOwner(Forbidden):
    """The caller may see the model but only its owner (or an admin) may change it."""

    type_slug = "not-model-owner"
    title = "Only the owner may do this"

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(
            f"Only {owner} or an administrator may publish {owner}/{name}.",
            extensions={"owner": owner, "name": name},
        )


class CallerRequired(Unauthorized):
    type_slug = "caller-required"
    title = "Caller required"

    def __init__(self) -> None:
        super().__init__("This operation needs a signed-in user (X-Modelbay-User header).")


class InvalidCallerHeader(BadRequest):
    type_slug = "invalid-caller-header"
    title = "Invalid caller header"


class InvalidCursor(BadRequest):
    """The cursor is not one this search produced (tampered, or from other filters)."""

    type_slug = "invalid-cursor"
    title = "Invalid cursor"


class DeletionNotAllowed(Forbidden):
    """The caller may see the model but not change it (access.can_change)."""

    type_slug = "deletion-not-allowed"
    title = "Only the owner may delete this model"

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(
            f"Only {owner} (an owner or maintainer of it, if it is an organisation) or an "
            f"administrator may delete {owner}/{name}.",
            extensions={"owner": owner, "name": name},
        )


class ModelInUse(Conflict):
    """A live solution uses a version of the model; `force=true` deletes it anyway."""

    type_slug = "model-in-use"
    title = "A solution uses this model"

    def __init__(self, owner: str, name: str, solutions: list[str], hidden: int) -> None:
        named = ", ".join(solutions)
        others = f"{hidden} solution(s) you may not see" if hidden else ""
        which = " and ".join(part for part in (named, others) if part)
        super().__init__(
            f"{owner}/{name} is a node of {which}; those would no longer build or deploy. "
            "Delete them first, or delete with force=true.",
            extensions={
                "owner": owner,
                "name": name,
                "solutions": solutions,
                "hidden_solutions": hidden,
            },
        )


class ModelNameDeleted(Conflict):
    """A push into the name of a deleted model: names are not reused (deletion.py)."""

    type_slug = "model-name-deleted"
    title = "This model was deleted"

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(
            f"{owner}/{name} was deleted, and the name of a deleted model is not reused (its "
            "versions' image references must keep meaning what they meant); push under another "
            "name.",
            extensions={"owner": owner, "name": name},
        )
