"""`modelbay push`: upload a bundle directory or archive, or a solution document (.yaml/.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelbay.cli_common import console, user_errors
from modelbay.interface_report import InterfaceReport, wait_for_interface_report
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
    interface_wait: Annotated[
        float,
        typer.Option(
            "--interface-wait",
            min=0,
            help="Seconds to wait for the catalog's interface diff to the previous version "
            "(0: do not wait).",
        ),
    ] = 10.0,
) -> None:
    """Upload a bundle; prints the new version and where to follow its status."""
    with user_errors():
        if not bundle.exists():
            raise FileNotFoundError(f"{bundle} does not exist")
        is_solution = bundle.is_file() and bundle.suffix.lower() in SOLUTION_SUFFIXES
        if is_solution:
            if not name:
                raise PushError("a solution document needs --name NAME or OWNER/NAME")
            try:
                solution = Solution.from_file(bundle)
            except SolutionDocumentError as exc:
                raise PushError(f"{bundle} is not a valid solution", str(exc)) from None
            session = Session(url=url, token=token)
            result = session.push(solution, name)
        else:
            session = Session(url=url, token=token)
            result = session.push_bundle(bundle, name)
    owner = f"{result.owner}/" if result.owner else ""
    console().print(
        f"Pushed [bold]{owner}{result.name}[/] version [bold]{result.version}[/] "
        f"({result.status}); status: {result.status_url}",
        highlight=False,
    )
    if result.status != "stored":  # a file:// store has no pipeline to follow
        console().print(
            f"Follow it: modelbay status {owner}{result.name}:{result.version}",
            highlight=False,
            markup=False,
            soft_wrap=True,  # one line, so the command can be copied whole
        )
    # A solution's own interface is its entry node's: the diff is reported for model bundles.
    if interface_wait > 0 and result.status != "stored" and not is_solution:
        with user_errors():
            report = wait_for_interface_report(session, result, timeout=interface_wait)
        print_interface_report(report, result.status_url)


def print_interface_report(report: InterfaceReport, status_url: str) -> None:
    """Say when a push changed the interface, loudly when it breaks callers."""
    if not report.recorded:
        console().print(
            f"The interface diff is not known yet; see interface_diff at {status_url}",
            highlight=False,
        )
    elif report.diff is not None:
        style = "bold yellow" if report.diff.breaking else "green"
        console().print(f"[{style}]{report.diff.summary()}[/]", highlight=False, soft_wrap=True)
