"""`modelbay up`: the whole platform in this process, found through an entry point.

The embedded platform lives in the `modelbay-embedded` package (services/embedded), which
declares a `modelbay.platform` entry point; looking it up instead of importing it keeps this
library free of service packages.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Protocol

import typer

from modelbay.cli_common import console, error_console


def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where data lives (default: $MODELBAY_DATA_DIR or ~/.local/share/modelbay)."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    docker: Annotated[
        bool | None,
        typer.Option(
            "--docker/--no-docker", help="Build images with Docker (default: if one answers)."
        ),
    ] = None,
) -> None:
    """Run the whole platform in this process (embedded PostgreSQL, no other setup).

    Prints the URL, the admin token and what to do next; stop with Ctrl-C. Images are built
    with the local Docker engine when one answers; the output says when none does.
    """
    runner = _platform_runner()
    runner(
        data_dir=data_dir,
        host=host,
        port=port,
        docker=docker,
        announce=lambda text: console().print(text, markup=False, soft_wrap=True),
    )


PLATFORM_ENTRY_POINTS = "modelbay.platform"
PLATFORM_PACKAGE = "modelbay-embedded"


class PlatformRunner(Protocol):
    """What a `modelbay.platform` entry point provides (modelbay_embedded.cli.run_platform)."""

    def __call__(
        self,
        *,
        data_dir: Path | None,
        host: str,
        port: int,
        docker: bool | None,
        announce: Callable[[str], object],
    ) -> None: ...


def _platform_runner() -> PlatformRunner:
    # An entry point, not an import: the SDK must not depend on the service packages.
    found = entry_points(group=PLATFORM_ENTRY_POINTS)
    if not found:
        error_console().print(
            "[bold red]error:[/] `modelbay up` needs the platform's server packages: "
            f"pip install {PLATFORM_PACKAGE}",
            soft_wrap=True,  # one line, so the command can be copied whole
        )
        raise typer.Exit(1)
    runner: PlatformRunner = next(iter(found)).load()
    return runner
