"""`modelbay admin peers`: the instances this one mirrors public models from (administrators).

    modelbay admin peers add NAME URL --peer-token T [--all | --owner O | --category C | --tag T]
    modelbay admin peers list [--json]            each peer's sync status and mirror counts
    modelbay admin peers show NAME [--json]       one peer, its pinned keys and last errors
    modelbay admin peers subscribe NAME [--all | --owner ... | --category ... | --tag ...]
    modelbay admin peers refresh-keys NAME        pin the peer's current /v1/keys again
    modelbay admin peers sync NAME                read its changes feed now
    modelbay admin peers remove NAME

The token is an ordinary API token of an account on the peer, issued by the peer's administrator
(docs/federation.md walks through it).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from modelbay.cli_common import console
from modelbay.cli_server import Token, Url, _user_errors
from modelbay.client import ModelbayClient

Name = Annotated[str, typer.Argument(help="The peer's name on this instance, e.g. `a`.")]
All = Annotated[bool, typer.Option("--all", help="Mirror every public model of the peer.")]
Owners = Annotated[
    list[str] | None, typer.Option("--owner", help="Mirror this owner's public models.")
]
Categories = Annotated[
    list[str] | None, typer.Option("--category", help="Mirror public models of this category.")
]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="Mirror public models with it.")]


def register(admin: typer.Typer) -> None:
    peers = typer.Typer(help="Peers this instance mirrors models from.", no_args_is_help=True)
    peers.command("add")(peers_add)
    peers.command("list")(peers_list)
    peers.command("show")(peers_show)
    peers.command("subscribe")(peers_subscribe)
    peers.command("refresh-keys")(peers_refresh_keys)
    peers.command("sync")(peers_sync)
    peers.command("remove")(peers_remove)
    admin.add_typer(peers, name="peers")


def _subscriptions(
    everything: bool, owners: list[str] | None, categories: list[str] | None, tags: list[str] | None
) -> dict[str, Any]:
    return {
        "all": everything,
        "owners": owners or [],
        "categories": categories or [],
        "tags": tags or [],
    }


def _describe_subscriptions(subscriptions: dict[str, Any]) -> str:
    if subscriptions.get("all"):
        return "all public models"
    parts = [
        f"{label} {', '.join(subscriptions[key])}"
        for key, label in (("owners", "owner"), ("categories", "category"), ("tags", "tag"))
        if subscriptions.get(key)
    ]
    return "; ".join(parts) or "nothing (subscribe to something)"


def peers_add(
    name: Name,
    peer_url: Annotated[str, typer.Argument(help="The peer gateway's base URL.")],
    peer_token: Annotated[
        str,
        typer.Option(
            "--peer-token",
            help="API token of an account on the peer (issued by its administrator).",
            prompt=True,
            hide_input=True,
        ),
    ],
    everything: All = False,
    owners: Owners = None,
    categories: Categories = None,
    tags: Tags = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Register a peer: its public keys are fetched and pinned now."""
    body = {
        "name": name,
        "url": peer_url,
        "token": peer_token,
        "subscriptions": _subscriptions(everything, owners, categories, tags),
    }
    with _user_errors(), ModelbayClient(url, token) as client:
        peer = client.add_peer(body)
    out = console()
    out.print(f"Peer {peer['name']} registered ({peer['url']}), {len(peer['keys'])} key(s) pinned.")
    out.print(f"Subscribed to {_describe_subscriptions(peer['subscriptions'])}.")


def peers_list(
    as_json: Annotated[bool, typer.Option("--json", help="The whole answer as JSON.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Every peer: subscriptions, last success, last error, next attempt, mirrors."""
    with _user_errors(), ModelbayClient(url, token) as client:
        found = client.peers()
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table(
        "peer",
        "url",
        "subscribed to",
        "last success",
        "failures",
        "next attempt",
        "mirrors (ready/requested/failed/withdrawn)",
        "last error",
    )
    for peer in found:
        status, mirrors = peer["status"], peer["mirrors"]
        table.add_row(
            peer["name"],
            peer["url"],
            _describe_subscriptions(peer["subscriptions"]),
            status["last_success_at"] or "never",
            str(status["consecutive_failures"]),
            status["next_attempt_at"],
            f"{mirrors['ready']}/{mirrors['requested']}/{mirrors['failed']}/{mirrors['withdrawn']}",
            status["last_error"] or peer.get("last_mirror_failure") or "-",
        )
    console().print(table)


def peers_show(
    name: Name,
    as_json: Annotated[bool, typer.Option("--json", help="The whole answer as JSON.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """One peer with its pinned keys, cursor and last errors."""
    with _user_errors(), ModelbayClient(url, token) as client:
        peer = client.peer(name)
    if as_json:
        typer.echo(json.dumps(peer, indent=2))
        return
    out = console()
    status = peer["status"]
    out.print(f"{peer['name']}  {peer['url']}", markup=False)
    out.print(f"subscribed to: {_describe_subscriptions(peer['subscriptions'])}", markup=False)
    out.print(f"keys: {', '.join(k['key_id'] for k in peer['keys']) or 'none'}", markup=False)
    out.print(f"cursor: {status['cursor']}  last success: {status['last_success_at'] or 'never'}")
    out.print(
        f"next attempt: {status['next_attempt_at']}  failures in a row: "
        f"{status['consecutive_failures']}"
    )
    if status["last_error"]:
        out.print(f"last error: {status['last_error']}", markup=False)
    if peer.get("last_mirror_failure"):
        out.print(f"last failed mirror: {peer['last_mirror_failure']}", markup=False)


def peers_subscribe(
    name: Name,
    everything: All = False,
    owners: Owners = None,
    categories: Categories = None,
    tags: Tags = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Replace the peer's subscriptions (what future syncs mirror)."""
    body = {"subscriptions": _subscriptions(everything, owners, categories, tags)}
    with _user_errors(), ModelbayClient(url, token) as client:
        peer = client.update_peer(name, body)
    console().print(
        f"{peer['name']}: subscribed to {_describe_subscriptions(peer['subscriptions'])}."
    )


def peers_refresh_keys(name: Name, url: Url = None, token: Token = None) -> None:
    """Pin the peer's current public keys again (after it rotated its signing key)."""
    with _user_errors(), ModelbayClient(url, token) as client:
        peer = client.refresh_peer_keys(name)
    keys = ", ".join(key["key_id"] for key in peer["keys"]) or "none"
    console().print(f"{peer['name']}: keys pinned: {keys}", markup=False)


def peers_sync(name: Name, url: Url = None, token: Token = None) -> None:
    """Read the peer's changes feed now; exits 1 when the peer did not answer."""
    with _user_errors(), ModelbayClient(url, token) as client:
        outcome = client.sync_peer(name)
    out = console()
    if outcome.get("error"):
        out.print(f"[bold red]sync failed:[/] {outcome['error']}", highlight=False)
        raise typer.Exit(1)
    out.print(
        f"{name}: {outcome['requested']} version(s) requested, {outcome['withdrawn']} model(s) "
        f"withdrawn, {outcome.get('retried', 0)} retried; cursor {outcome['cursor']}."
    )


def peers_remove(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Forget the peer (its mirrored models stay listed, read-only)."""
    if not yes:
        typer.confirm(f"Remove peer {name}?", abort=True)
    with _user_errors(), ModelbayClient(url, token) as client:
        client.remove_peer(name)
    console().print(f"Peer {name} removed.")
