"""`modelbay push`: upload a bundle directory or archive, an ONNX file, or a solution document."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from modelbay.cli_common import console, user_errors
from modelbay.interface_report import InterfaceReport, wait_for_interface_report
from modelbay.model import Model
from modelbay.prebuilt import image_source, push_prebuilt
from modelbay.session import PushError, PushResult, Session
from modelbay.solution import Solution, SolutionDocumentError

SOLUTION_SUFFIXES = (".yaml", ".yml", ".json")
ONNX_SUFFIX = ".onnx"


def register(app: typer.Typer) -> None:
    app.command("push")(push)


def push(
    bundle: Annotated[
        Path | None,
        typer.Argument(
            help="Bundle directory (from `modelbay dump`), .tar.gz archive, an ONNX model "
            "(.onnx, docs/onnx.md), or a solution document (.yaml/.json, docs/solutions.md; "
            "needs --name). Omitted with --image."
        ),
    ] = None,
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
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="A pre-built model server image in any language; needs --proto and --name "
            "(docs/prebuilt-images.md). An existing file is a `docker save` tarball; otherwise "
            "it must be a reference into the platform's registry, "
            "REGISTRY/staging/YOU/IMAGE:TAG or ...@sha256:DIGEST, pushed there first with "
            "`docker push` (nothing is uploaded but the reference).",
        ),
    ] = None,
    proto: Annotated[
        Path | None,
        typer.Option("--proto", help="The .proto of the --image's methods (one service)."),
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
    # Opened once, after the files were checked: a bad file is reported before a missing URL.
    session = functools.cache(lambda: Session(url=url, token=token))
    with user_errors():
        if image is not None or bundle is None:
            result, is_solution = _push_image(image, proto, name, session, bundle), False
        else:
            result, is_solution = _push_path(bundle, name, session)
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
            report = wait_for_interface_report(session(), result, timeout=interface_wait)
        print_interface_report(report, result.status_url)


def _push_path(
    bundle: Path, name: str | None, session: Callable[[], Session]
) -> tuple[PushResult, bool]:
    """A bundle directory or archive, an ONNX file or a solution document; (result, solution?)."""
    if not bundle.exists():
        raise FileNotFoundError(f"{bundle} does not exist")
    suffix = bundle.suffix.lower() if bundle.is_file() else ""
    if suffix == ONNX_SUFFIX:
        onnx_model = Model.from_onnx(bundle)  # the interface is derived from the graph
        return session().push(onnx_model, name or onnx_model.name), False
    if suffix in SOLUTION_SUFFIXES:
        if not name:
            raise PushError("a solution document needs --name NAME or OWNER/NAME")
        try:
            solution = Solution.from_file(bundle)
        except SolutionDocumentError as exc:
            raise PushError(f"{bundle} is not a valid solution", str(exc)) from None
        return session().push(solution, name), True
    return session().push_bundle(bundle, name), False


def _push_image(
    image: str | None,
    proto: Path | None,
    name: str | None,
    session: Callable[[], Session],
    bundle: Path | None,
) -> PushResult:
    if bundle is not None or image is None:
        raise PushError("push a BUNDLE, or --image TARBALL|REFERENCE --proto FILE --name NAME")
    if proto is None or not name:
        raise PushError("--image needs --proto (the methods' .proto) and --name NAME")
    if not proto.is_file():
        raise FileNotFoundError(f"{proto} does not exist")
    source = image_source(image)  # checked before the session: a bad --image is said first
    return push_prebuilt(session(), source, proto, name)


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
