"""`modelbay delete OWNER/NAME`: delete a model (or a solution) and every version of it.

    modelbay delete alice/iris            # asks first; --yes does not
    modelbay delete alice/heat --force    # even when a solution uses one of its versions

A soft delete on the platform (`DELETE /v1/models/{owner}/{name}`, docs/catalog.md): the model
answers 404 from then on, its name is not reused. Only its owner, an owner or maintainer of the
owning organisation, or an administrator may.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelbay.cli_common import console
from modelbay.cli_server import Token, Url, _user_errors
from modelbay.client import ModelbayClient, ModelRef
from modelbay.errors import ApiError


def register(app: typer.Typer) -> None:
    app.command("delete")(delete)


def delete(
    model: Annotated[str, typer.Argument(help="OWNER/NAME of the model or solution.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Delete even when a solution uses one of its versions (it then "
            "refuses to build and to deploy).",
        ),
    ] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Delete a model and all its versions: it disappears from search, every read answers 404
    and its name cannot be pushed again. This cannot be undone."""
    out = console()
    with _user_errors():
        ref = ModelRef.parse(model)
        if ref.version is not None or ref.alias is not None:
            raise ApiError(
                "bad model reference",
                f"delete takes OWNER/NAME: a model is deleted with every version, got {model!r}",
            )
        with ModelbayClient(url, token) as client:
            found = client.model(ref.owner, ref.name)  # 404 before asking anything
            versions = len(found.get("versions") or [])
            kind = str(found.get("kind") or "model")
            if not yes and not typer.confirm(
                f"Delete the {kind} {ref} and its {versions} version(s)? This cannot be undone",
                default=False,
            ):
                out.print("Nothing deleted.")
                raise typer.Exit(1)
            deleted = client.delete_model(ref.owner, ref.name, force=force)
    numbers = ", ".join(str(v) for v in deleted.get("versions") or []) or "none"
    out.print(f"Deleted {ref} (versions: {numbers}); its name cannot be pushed again.")
