"""The `modelbay` command line (typer + rich).

One module per command group, each with `register(app)`: `cli_auth` (login), `cli_bundle`
(dump, inspect), `cli_push` (push). Commands that talk to a running platform (status, search,
pull, run, publish) slot in the same way: a `cli_<group>.py` with `register` and one line here.
"""

from __future__ import annotations

import typer

from modelbay import (
    cli_admin,
    cli_auth,
    cli_bundle,
    cli_delete,
    cli_deploy,
    cli_push,
    cli_server,
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="modelbay",
        help="Package trained Python models and share them on a Modelbay platform.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # Docstrings are wrapped at 100 columns in the source: markdown mode joins the lines of a
        # paragraph and rewraps them to the terminal (rich mode kept the source's line breaks).
        rich_markup_mode="markdown",
    )
    for group in (cli_auth, cli_bundle, cli_push, cli_server, cli_deploy, cli_delete, cli_admin):
        group.register(app)
    return app


def main() -> None:
    build_app()()


if __name__ == "__main__":
    main()
