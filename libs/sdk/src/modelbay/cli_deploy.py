"""`modelbay deploy`: a version's deployment artifacts, or the version running on this machine.

    modelbay deploy alice/iris:3 --output deploy/       # docker-compose.yml + Kustomize tree
    modelbay deploy alice/iris:3 --local --port 8080    # run it (a solution: nodes + orchestrator)
    modelbay deploy alice/iris:3 --local --grpc-port 9081  # gRPC there (else a free port)
    modelbay deploy alice/iris:3 --down                 # stop what --local started, only that
    modelbay deploy alice/iris@stable --local           # an alias: the version it names now

Everything comes from the platform's `/v1` (`GET .../versions/{v}/deploy/{kind}`); nothing of
the server side is imported. docs/deploy-models.md shows each command.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from modelbay.cli_common import console
from modelbay.cli_server import SkipVerify, Token, Url, _user_errors
from modelbay.client import ModelbayClient, ModelRef
from modelbay.deploy_local import deploy_local, down_local, extract


# (str, Enum) rather than StrEnum: the SDK runs on Python 3.10 (docs/sdk.md).
class Kind(str, Enum):
    ALL = "all"
    COMPOSE = "compose"
    KUSTOMIZE = "kustomize"


class Format(str, Enum):
    TAR_GZ = "tar.gz"
    ZIP = "zip"


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)


def deploy(
    model: Annotated[
        str,
        typer.Argument(help="OWNER/NAME:VERSION or OWNER/NAME@ALIAS of a model or a solution."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the deployment artifacts into this directory."),
    ] = None,
    kind: Annotated[
        Kind, typer.Option(help="With --output: compose, kustomize or all.")
    ] = Kind.ALL,
    archive_format: Annotated[
        Format, typer.Option("--format", help="With --output: the archive format fetched.")
    ] = Format.TAR_GZ,
    local: Annotated[
        bool, typer.Option("--local", help="Run it on this machine's Docker engine.")
    ] = False,
    port: Annotated[int, typer.Option(help="With --local: the port on 127.0.0.1.")] = 8080,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            "--grpc-port",
            help="With --local: the gRPC port on 127.0.0.1, when the image serves gRPC (model "
            "images the platform built do; pre-built images and solutions do not). Default: a "
            "free one, printed.",
        ),
    ] = None,
    down: Annotated[
        bool, typer.Option("--down", help="Stop and remove what `--local` started for it.")
    ] = False,
    url: Url = None,
    token: Token = None,
    insecure_skip_verify: SkipVerify = False,
) -> None:
    """Deployment artifacts of a ready version (--output DIR), or run it here (--local) and
    stop it again (--down). A solution runs as its nodes with the orchestrator in front, on
    one Docker network."""
    if sum((output is not None, local, down)) != 1:
        raise typer.BadParameter("give exactly one of --output DIR, --local, --down")
    out = console()
    with _user_errors():
        ref = ModelRef.parse(model, version_required=True)
        if ref.version is None:
            # An alias names a version now: deploy (and stop) that version, said so.
            with ModelbayClient(url, token) as client:
                pinned = client.pin(ref)
            out.print(f"{ref} is {pinned}")
            ref = pinned
        assert ref.version is not None
        if down:
            containers, networks = down_local(str(ref), progress=out.print)
            if containers or networks:
                out.print(
                    f"Stopped {ref}: {len(containers)} container(s), {len(networks)} network(s)."
                )
            else:
                out.print(f"Nothing of {ref} is running here.")
            return
        with ModelbayClient(url, token) as client:
            if output is not None:
                kinds = [Kind.COMPOSE, Kind.KUSTOMIZE] if kind is Kind.ALL else [kind]
                for each in kinds:
                    archive = client.deployment_archive(
                        ref.owner, ref.name, ref.version, each.value, archive_format.value
                    )
                    written = extract(archive, archive_format.value, output)
                    root = output / f"{ref.owner}-{ref.name}-{ref.version}-{each.value}"
                    out.print(f"{each.value}: {len(written)} files in {root}")
                    out.print(f"  {_NEXT[each]}".format(root=root), highlight=False)
                return
            with out.status(f"deploying {ref}") as status:
                deployment = deploy_local(
                    client,
                    ref,
                    port,
                    progress=status.update,
                    skip_verify=insecure_skip_verify,
                    grpc_port=grpc_port,
                )
    out.print(f"{ref} is serving at [bold]{deployment.url}[/]")
    out.print(f"  containers: {', '.join(deployment.containers)} (network {deployment.network})")
    out.print(f"  OpenAPI: {deployment.url}/docs   metrics: {deployment.url}/metrics")
    if deployment.grpc_address is not None:
        out.print(f"  gRPC (OIP v2 and the model's service): {deployment.grpc_address}")
    out.print(f"Stop it with `modelbay deploy --down {ref}`.")


_NEXT = {
    Kind.COMPOSE: "run: docker compose -f {root}/docker-compose.yml up -d",
    Kind.KUSTOMIZE: "render: kubectl kustomize {root}/overlays/production (or kubectl apply -k)",
}
