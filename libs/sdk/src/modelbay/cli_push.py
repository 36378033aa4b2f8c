"""`modelbay push`: upload a bundle directory or archive, or a solution document (.yaml/.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelbay.cli_common import console, user_errors
from modelbay.session import PushError, Session
from modelbay.solution import Solution, SolutionDocumentError

SOLUTION_SUFFIXES = (".yaml", ".yml", ".json")


def register(app: typer.Typer) -> None:
    app.command("push")(push)


def push(
    bundle: Annotated[
        Path,
        typer.Argument(
            help="Bundle directory (from `modelbay dump`), .tar.gz archive, or a solution "
            "document (.yaml/.json, docs/solutions.md; needs --name)."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Push as NAME or OWNER/NAME (default: the bundle's name)."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Platform URL or file:///dir (default: MODELBAY_URL, then `modelbay login`).",
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="API token (default: MODELBAY_TOKEN, then login).")
    ] = None,
) -> None:
    """Upload a bundle; prints the new version and where to follow its status."""
    with user_errors():
        if not bundle.exists():
            raise FileNotFoundError(f"{bundle} does not exist")
        if bundle.is_file() and bundle.suffix.lower() in SOLUTION_SUFFIXES:
            if not name:
                raise PushError("a solution document needs --name NAME or OWNER/NAME")
            try:
                solution = Solution.from_file(bundle)
            except SolutionDocumentError as exc:
                raise PushError(f"{bundle} is not a valid solution", str(exc)) from None
            result = Session(url=url, token=token).push(solution, name)
        else:
            result = Session(url=url, token=token).push_bundle(bundle, name)
    owner = f"{result.owner}/" if result.owner else ""
    console().print(
        f"Pushed [bold]{owner}{result.name}[/] version [bold]{result.version}[/] "
        f"({result.status}); status: {result.status_url}",
        highlight=False,
    )
