"""Commands that talk to a running platform: status, search, pull, run, publish (and `up`).

They use `ModelbayClient` (URL and token as for `push`: --url/--token, MODELBAY_URL/
MODELBAY_TOKEN, then `modelbay login`). `pull` and `run` drive the local `docker` command line
(by the recorded digest, logged in transparently: `image_pull.py`); `up` starts the embedded
platform (the `modelbay-embedded` package, found through the `modelbay.platform` entry point
group, so this library never imports a service; `cli_up.py`).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from modelbay.cli_common import console, error_console, user_errors
from modelbay.cli_up import up
from modelbay.client import FINAL_STATUSES, ModelbayClient, ModelRef
from modelbay.docker_run import GRPC_CONTAINER_PORT, published_port, start_container
from modelbay.errors import ApiError
from modelbay.image_pull import pull_verified

POLL_SECONDS = 1.0
READY_WAIT_SECONDS = 180.0

Url = Annotated[str | None, typer.Option("--url", help="Platform URL (default: MODELBAY_URL).")]
Token = Annotated[str | None, typer.Option("--token", help="API token (default: MODELBAY_TOKEN).")]
SkipVerify = Annotated[
    bool,
    typer.Option(
        "--insecure-skip-verify",
        help="Do not check the platform's signature of the image (warns; docs/trust.md).",
    ),
]


def register(app: typer.Typer) -> None:
    for command in (status, search, pull, run, publish, up):
        app.command(command.__name__)(command)


def _user_errors() -> AbstractContextManager[None]:
    """`user_errors`, the platform's answers (ApiError) included."""
    return user_errors(ApiError)


# -- status ------------------------------------------------------------------------------------


def _seconds(value: Any) -> str:
    return f"{value:.1f}s" if isinstance(value, int | float) else ""


def _stage_table(detail: dict[str, Any]) -> Table:
    status = str(detail.get("status"))
    timings = detail.get("timings") or {}
    resolved = timings.get("resolved_at") is not None or status in ("building", "ready")
    failed_in_resolve = status == "failed" and timings.get("resolved_at") is None
    build_time = sum(
        value
        for value in (timings.get("build_seconds"), timings.get("validation_seconds"))
        if isinstance(value, int | float)
    )

    def mark(done: bool, running: bool, failed: bool) -> str:
        if failed:
            return "[red]✗ failed[/]"
        return "[green]✓[/]" if done else ("[yellow]… running[/]" if running else "[dim]·[/]")

    table = Table(title=f"{detail['owner']}/{detail['name']} version {detail['version']}")
    table.add_column("stage")
    table.add_column("state")
    table.add_column("time", justify="right")
    table.add_row("upload", mark(True, False, False), "")
    table.add_row(
        "resolve dependencies",
        mark(resolved, status in ("uploaded", "resolving"), failed_in_resolve),
        _seconds(timings.get("resolve_seconds")),
    )
    table.add_row(
        "build + validate image",
        mark(status == "ready", status == "building", status == "failed" and resolved),
        _seconds(build_time) if build_time else "",
    )
    if status in FINAL_STATUSES:
        table.add_row("total", status, _seconds(timings.get("total_seconds")))
    return table


def _outcome(detail: dict[str, Any]) -> None:
    out = console()
    if detail.get("status") == "ready":
        ref = f"{detail['owner']}/{detail['name']}:{detail['version']}"
        out.print(f"[green]ready[/]: {detail.get('pull_command') or detail.get('image_ref')}")
        out.print(
            f"Next: `modelbay run {ref}` to serve it here, or `modelbay publish` to share it."
        )
        return
    failure = detail.get("failure") or {}
    error_console().print(f"[bold red]failed:[/] {failure.get('reason') or detail.get('reason')}")
    if failure.get("detail"):
        error_console().print(str(failure["detail"]), highlight=False, markup=False)
    if failure.get("sample"):
        error_console().print(json.dumps(failure["sample"], indent=2), markup=False)
    error_console().print("Next: fix the model or its requirements and push again.")


def status(
    model: Annotated[
        str, typer.Argument(help="OWNER/NAME[:VERSION] or OWNER/NAME@ALIAS (default: newest)")
    ],
    follow: Annotated[bool, typer.Option(help="Keep watching until ready or failed.")] = True,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show a version's pipeline stages and times; follows it live until ready or failed."""
    with _user_errors(), ModelbayClient(url, token) as client:
        ref = ModelRef.parse(model)
        version = client.resolve_version(ref)
        detail = client.version(ref.owner, ref.name, version)
        out = console()
        if out.is_terminal:
            with Live(_stage_table(detail), console=out, auto_refresh=False) as live:
                while follow and detail.get("status") not in FINAL_STATUSES:
                    time.sleep(POLL_SECONDS)
                    detail = client.version(ref.owner, ref.name, version)
                    live.update(_stage_table(detail), refresh=True)
        else:  # a log or a pipe: no redrawing, just the final state
            while follow and detail.get("status") not in FINAL_STATUSES:
                time.sleep(POLL_SECONDS)
                detail = client.version(ref.owner, ref.name, version)
            out.print(_stage_table(detail))
        if detail.get("status") in FINAL_STATUSES:
            _outcome(detail)
        if detail.get("status") == "failed":
            raise typer.Exit(1)


# -- search and publish ------------------------------------------------------------------------


def search(
    query: Annotated[str, typer.Argument(help="Words to look for (name, description, fields).")],
    category: Annotated[str | None, typer.Option(help="e.g. classification, nlp")] = None,
    library: Annotated[str | None, typer.Option(help="e.g. scikit-learn")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner's models.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    url: Url = None,
    token: Token = None,
) -> None:
    """Search the models you may see."""
    with _user_errors(), ModelbayClient(url, token) as client:
        page = client.search(query, category=category, library=library, owner=owner, limit=limit)
    items = page.get("items") or []
    if not items:
        console().print(f"No model matches {query!r}. Try fewer words or no --category.")
        return
    table = Table()
    for column in ("model", "version", "status", "category", "downloads", "description"):
        table.add_column(column)
    for item in items:
        version = item.get("published_version") or item.get("latest_version")
        table.add_row(
            f"{item['owner']}/{item['name']}",
            str(version or ""),
            str(item.get("latest_status") or ""),
            str(item.get("category") or ""),
            str(item.get("downloads", 0)),
            str(item.get("description") or "")[:60],
        )
    console().print(table)
    first = items[0]
    console().print(f"Next: `modelbay run {first['owner']}/{first['name']}:VERSION`")


def publish(
    model: Annotated[str, typer.Argument(help="OWNER/NAME")],
    description: Annotated[str, typer.Option(help="What the model does (searchable).")],
    category: Annotated[str, typer.Option(help="classification, regression, nlp, vision, ...")],
    license: Annotated[str, typer.Option("--license", help="e.g. MIT, Apache-2.0")],
    version: Annotated[int | None, typer.Option(help="Default: the newest ready version.")] = None,
    visibility: Annotated[str, typer.Option(help="public, org or private")] = "public",
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for several).")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Share a ready version: sets its description, category, license and visibility."""
    with _user_errors(), ModelbayClient(url, token) as client:
        ref = ModelRef.parse(model)
        ref = client.pin(ref)  # `@stable` → the version it names now
        body: dict[str, Any] = {
            "description": description,
            "category": category,
            "license": license,
            "visibility": visibility,
        }
        if version is not None or ref.version is not None:
            body["version"] = version if version is not None else ref.version
        if tag:
            body["tags"] = tag
        detail = client.publish(ref.owner, ref.name, body)
    if detail.get("status") == "pending":  # the platform requires a publisher's approval
        console().print(
            f"Publish request {detail['id']} for {ref.owner}/{ref.name} version "
            f"{detail['version']} waits for a publisher's approval "
            f"(GET /v1/publish-requests/{detail['id']})."
        )
        return
    console().print(
        f"Published {ref.owner}/{ref.name} version {detail['version']} ({visibility}). "
        f"Others find it with `modelbay search {ref.name}`."
    )


# -- pull and run ------------------------------------------------------------------------------


def _docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise ApiError(
            "docker not found",
            "install Docker, or download the image with GET .../versions/N/image and "
            "`docker load -i` it on a machine that has Docker",
        )
    return found


def _ready_version(client: ModelbayClient, ref: ModelRef) -> dict[str, Any]:
    assert ref.version is not None
    detail = client.version(ref.owner, ref.name, ref.version)
    image = detail.get("image_ref")
    if detail.get("status") != "ready" or not image:
        raise ApiError(
            f"{ref} is not ready",
            f"its status is {detail.get('status')!r}; follow it with `modelbay status {ref}`",
        )
    if detail.get("serve_url"):
        # Embedded mode without Docker: the platform serves the model itself, there is no image.
        raise ApiError(
            f"{ref} has no image to pull",
            f"the platform runs it as a local process (no Docker engine); call it at "
            f"{detail['serve_url']}",
        )
    return detail


def pull(
    model: Annotated[str, typer.Argument(help="OWNER/NAME:VERSION")],
    url: Url = None,
    token: Token = None,
    insecure_skip_verify: SkipVerify = False,
) -> None:
    """`docker pull` the image of a ready version, by the digest the catalog recorded, once its
    platform signature verified."""
    with _user_errors(), ModelbayClient(url, token) as client:
        ref = ModelRef.parse(model, version_required=True)
        ref = client.pin(ref)  # `@stable` → the version it names now
        image = pull_verified(client, _ready_version(client, ref), skip_verify=insecure_skip_verify)
    console().print(f"Pulled {image.reference} ({image.digest}). Next: `modelbay run {ref}`")


def _wait_until_ready(base_url: str, container: str) -> None:
    deadline = time.monotonic() + READY_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ApiError(
        "the model did not become ready",
        f"see `docker logs {container}`; stop it with `docker rm -f {container}`",
    )


_EXAMPLE_SCALARS: dict[str, Any] = {"float": 1.0, "double": 1.0, "bool": True, "str": "text"}


def example_value(type_name: str) -> Any:
    """A plausible JSON value for an interface field type such as `list[float]` or `int64`."""
    if type_name.startswith("list[") and type_name.endswith("]"):
        return [example_value(type_name[5:-1])]
    if type_name.startswith(("int", "uint")):
        return 1
    return _EXAMPLE_SCALARS.get(type_name, "...")


def _example_call(base_url: str, detail: dict[str, Any]) -> str:
    methods = (detail.get("interface") or {}).get("methods") or [{"name": "METHOD"}]
    method = methods[0]
    fields = {
        field["name"]: example_value(field.get("type", "")) for field in method.get("inputs") or []
    }
    return (
        f"curl -s -X POST {base_url}/model/methods/{method['name']} "
        f"-H 'Content-Type: application/json' -d '{json.dumps(fields)}'"
    )


def run(
    model: Annotated[str, typer.Argument(help="OWNER/NAME:VERSION")],
    port: Annotated[
        int | None,
        typer.Option(help="Port on this machine (default: a free one, printed)."),
    ] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            "--grpc-port",
            min=0,
            help="Also publish the image's gRPC port (8081: OIP v2 and the model's service, "
            "docs/runtime.md) on this port; 0 picks a free one. Images the platform built "
            "serve it; pre-built images in other languages do not.",
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    insecure_skip_verify: SkipVerify = False,
) -> None:
    """Pull a ready version's image (signature verified), run it in Docker and wait until it
    answers."""
    with _user_errors(), ModelbayClient(url, token) as client:
        ref = ModelRef.parse(model, version_required=True)
        ref = client.pin(ref)  # `@stable` → the version it names now
        assert ref.version is not None
        detail = _ready_version(client, ref)
        # Run exactly what the platform validated and signed.
        image = pull_verified(client, detail, skip_verify=insecure_skip_verify).pinned
        container, host_port = start_container(_docker(), image, port, grpc_port=grpc_port)
        base_url = f"http://127.0.0.1:{host_port}"
        _wait_until_ready(base_url, container)
        grpc_host_port = (
            grpc_port or published_port(_docker(), container, GRPC_CONTAINER_PORT)
            if grpc_port is not None
            else None
        )
    out = console()
    out.print(f"{ref} is serving at [bold]{base_url}[/] (container {container})")
    if port is None:
        out.print(f"  port {host_port} was free; choose one with --port")
    out.print(f"  OpenAPI: {base_url}/docs   metrics: {base_url}/metrics")
    if grpc_host_port is not None:
        out.print(f"  gRPC (OIP v2 and the model's service): 127.0.0.1:{grpc_host_port}")
    out.print("  try: " + _example_call(base_url, detail), highlight=False, markup=False)
    out.print(f"Stop it with `docker rm -f {container}`.")
