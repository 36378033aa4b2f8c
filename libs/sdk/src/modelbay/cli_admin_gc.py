"""`modelbay admin gc [--dry-run]`: run the artifact garbage collector (`POST /v1/admin/gc`).

Prints each reclaimed (or, with `--dry-run`, reclaimable) artifact with its size, then the
totals by kind. Bundles, wheelhouses, `.deb` archives and registry images that only failed
versions or versions of deleted models use, older than the grace period (docs/operations.md).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from modelbay.cli_common import console
from modelbay.cli_server import Token, Url, _user_errors
from modelbay.client import ModelbayClient


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit}"


def admin_gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be reclaimed; delete nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The whole answer as JSON.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Reclaim the bundles, wheelhouses, .deb archives and images of dead versions."""
    with _user_errors(), ModelbayClient(url, token) as client:
        run: dict[str, Any] = client.collect_garbage(dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(run, indent=2))
        return
    out = console()
    table = Table("service", "kind", "artifact", "size")
    for report in run["reports"]:
        for item in report["reclaimed"]:
            table.add_row(report["service"], item["kind"], item["key"], _size(item["size"]))
    out.print(table)
    verb = "would reclaim" if run["dry_run"] else "reclaimed"
    for kind, total in sorted(run["by_kind"].items()):
        out.print(f"{kind}: {total['objects']} ({_size(total['bytes'])})", markup=False)
    out.print(
        f"{verb} {_size(run['bytes_reclaimed'])} from {run['dead_versions']} dead versions "
        f"(grace {run['grace_seconds']} s)",
        markup=False,
    )
    for report in run["reports"]:
        young = report["kept_young"]
        if young:
            out.print(f"{report['service']}: {young} kept, younger than the grace", markup=False)
        for error in report["errors"]:
            out.print(f"[bold red]not reclaimed:[/] {error}")
