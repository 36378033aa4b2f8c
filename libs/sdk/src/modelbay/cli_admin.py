"""`modelbay admin`: operator commands, through the platform's admin routes (administrators).

    modelbay admin dlq list [--limit N]           every dead-letter queue and its first letters
    modelbay admin dlq replay CONSUMER [--limit N]   move them back to the consumer's queue
    modelbay admin status [--json]                 every service's health, queues, stuck work
    modelbay admin peers add|list|show|sync|...    federation peers (cli_admin_peers.py)

The gateway reads the queues with its own bus connection: the operator needs an admin token,
not the broker's credentials. Fix what made the events fail before replaying them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modelbay.cli_admin_gc import admin_gc
from modelbay.cli_admin_peers import register as register_peers
from modelbay.cli_admin_status import admin_status
from modelbay.cli_common import console
from modelbay.cli_server import Token, Url, _user_errors
from modelbay.client import ModelbayClient


def register(app: typer.Typer) -> None:
    admin = typer.Typer(help="Operator commands (administrators only).", no_args_is_help=True)
    dlq = typer.Typer(help="Dead-letter queues of the platform's consumers.", no_args_is_help=True)
    dlq.command("list")(dlq_list)
    dlq.command("replay")(dlq_replay)
    admin.add_typer(dlq, name="dlq")
    admin.command("status")(admin_status)
    admin.command("gc")(admin_gc)
    register_peers(admin)  # `modelbay admin peers ...` (federation)
    app.add_typer(admin, name="admin")


def dlq_list(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Letters shown per queue.")] = 20,
    url: Url = None,
    token: Token = None,
) -> None:
    """Every consumer's dead-letter queue: how many letters, and the first ones."""
    out = console()
    with _user_errors(), ModelbayClient(url, token) as client:
        found = client.dead_letters(limit)
    table = Table("queue", "letters", "first letters (type, event id, attempts, error)")
    for queue in found["queues"]:
        count = f"{queue['count']}{'+' if queue['more'] else ''}"
        if not queue["exists"]:
            count = "absent"
        lines = [
            f"{letter['event_type']} {letter['event_id']} x{letter['attempts']}: {letter['error']}"
            for letter in queue["letters"]
        ]
        table.add_row(queue["queue"], count, "\n".join(lines) or "-")
    out.print(table)
    out.print(f"{found['total']} dead letter(s) shown.")


def dlq_replay(
    consumer: Annotated[
        str, typer.Argument(help="The consumer (e.g. builder.builds) whose letters to replay.")
    ],
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many (default: all present now).")
    ] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Move a consumer's dead letters back to its queue with a fresh attempt count."""
    with _user_errors(), ModelbayClient(url, token) as client:
        replayed = client.replay_dead_letters(consumer, limit)
    console().print(f"Replayed {replayed} dead letter(s) to {consumer}.")
