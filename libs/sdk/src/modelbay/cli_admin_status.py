"""`modelbay admin status`: the operator's view of the platform (`GET /v1/admin/status`).

One table, one row per service: live, ready (and why not), outbox backlog and the age of its
oldest event, messages waiting in its queues, dead letters; then the builds in flight and the
oldest stuck item with its reason. Exits 1 when a service is not live or not ready, so a script
or a cron job can act on it (docs/operations.md).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from modelbay.cli_common import console
from modelbay.cli_server import Token, Url, _user_errors
from modelbay.client import ModelbayClient


def _yes_no(flag: object) -> str:
    return "yes" if flag else "[bold red]NO[/]"


def _outbox(status: dict[str, Any]) -> str:
    outbox = status.get("outbox")
    if not outbox:
        return "-"
    if "error" in outbox:
        return f"? ({outbox['error']})"
    return f"{outbox['backlog']} (oldest {outbox['oldest_age_seconds']:.0f} s)"


def _queues(status: dict[str, Any]) -> tuple[str, str]:
    queues = status.get("queues") or {}
    readable = [q for q in queues.values() if "error" not in q]
    if not queues:
        return "-", "-"
    waiting = sum(int(q["messages"]) for q in readable)
    dead = sum(int(q["dead_letters"]) for q in readable)
    unread = len(queues) - len(readable)
    suffix = f" ({unread} unreadable)" if unread else ""
    return f"{waiting}{suffix}", str(dead) if dead == 0 else f"[bold red]{dead}[/]"


def admin_status(
    as_json: Annotated[bool, typer.Option("--json", help="The whole answer as JSON.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Each service's health, queues, outbox and dead letters, builds in flight, stuck work."""
    with _user_errors(), ModelbayClient(url, token) as client:
        view = client.platform_status()
    summary = view["summary"]
    healthy = bool(summary["all_live"] and summary["all_ready"])
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        raise typer.Exit(0 if healthy else 1)
    out = console()
    table = Table("service", "live", "ready", "outbox", "queued", "dead letters", "problems")
    for status in view["services"]:
        queued, dead = _queues(status)
        problems = "; ".join(f"{k}: {v}" for k, v in (status.get("problems") or {}).items())
        table.add_row(
            status["service"],
            _yes_no(status.get("live")),
            _yes_no(status.get("ready")),
            _outbox(status),
            queued,
            dead,
            problems or "-",
        )
    out.print(table)
    out.print(f"builds in flight: {summary['builds_in_flight']}")
    stuck = summary.get("oldest_stuck")
    if stuck:
        out.print(f"oldest stuck: {stuck['item']}: {stuck['reason']}", markup=False)
    if not healthy:
        out.print(f"[bold red]not ready:[/] {', '.join(summary['not_ready']) or '-'}")
        raise typer.Exit(1)
