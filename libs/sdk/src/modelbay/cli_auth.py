"""`modelbay login`: store the platform URL and token in the login file."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from modelbay.cli_common import console, error_console
from modelbay.config import Credentials, save_login_file


def register(app: typer.Typer) -> None:
    app.command("login")(login)


def login(
    url: Annotated[
        str, typer.Option("--url", help="Platform URL, e.g. https://modelbay.example.org")
    ],
    token: Annotated[
        str,
        typer.Option(
            "--token",
            prompt=True,
            hide_input=True,
            help="API token (create one in the web UI); prompted for when omitted.",
        ),
    ],
) -> None:
    """Store URL and token in ~/.config/modelbay/credentials.json (mode 0600).

    The token is checked with GET /v1/me when the platform answers; a rejected token is not
    stored. An unreachable platform stores the credentials with a warning.
    """
    url = url.rstrip("/")
    username = _verify(url, token)
    path = save_login_file(Credentials(url=url, token=token))
    who = f" as [bold]{username}[/]" if username else ""
    console().print(f"Logged in to {url}{who}; credentials saved in {path}")


def _verify(url: str, token: str) -> str | None:
    """The username for `token`, None if the platform cannot be reached; exits if rejected."""
    try:
        response = httpx.get(
            f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as exc:
        error_console().print(
            f"[yellow]warning:[/] cannot reach {url} ({exc}); storing the credentials unverified"
        )
        return None
    if response.status_code in (401, 403):
        error_console().print(
            f"[bold red]error:[/] {url} rejected the token ({response.status_code})"
        )
        raise typer.Exit(1)
    if not response.is_success:
        error_console().print(
            f"[yellow]warning:[/] {url}/v1/me answered {response.status_code}; "
            "storing the credentials unverified"
        )
        return None
    username = response.json().get("username")
    return str(username) if username else None
