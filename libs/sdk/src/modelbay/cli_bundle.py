"""`modelbay dump` (script → bundle directory) and `modelbay inspect` (what is in a bundle)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from modelbay_runtime.loader import PROTO, read_manifest, verify_checksums
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from modelbay.bundle import dump as dump_bundle
from modelbay.bundle import extract_archive
from modelbay.cli_common import console, user_errors
from modelbay.deps import ScriptError, load_object
from modelbay.model import Model


def register(app: typer.Typer) -> None:
    app.command("dump")(dump)
    app.command("inspect")(inspect)


def dump(
    model_ref: Annotated[
        str,
        typer.Argument(
            metavar="SCRIPT:VARIABLE",
            help="Script and the variable holding the Model, e.g. train.py:iris_model. The "
            "script runs as with `python script.py`, except its `if __name__ == '__main__'` block.",
        ),
    ],
    name: Annotated[str, typer.Argument(help="Model name, e.g. iris_model.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle directory to write.")],
    requirement: Annotated[
        list[str] | None,
        typer.Option("--requirement", "-r", help="Extra pip requirement (repeatable)."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="Distribution never to list (repeatable)."),
    ] = None,
    local_file: Annotated[
        list[Path] | None,
        typer.Option("--local-file", help="Extra file, module or package to ship (repeatable)."),
    ] = None,
    local_module: Annotated[
        list[str] | None,
        typer.Option("--local-module", help="Importable module to ship as source (repeatable)."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="Free-text description.")] = None,
    license: Annotated[str | None, typer.Option(help="SPDX license id, e.g. MIT.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag (repeatable).")] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite a non-empty --out directory.")] = False,
) -> None:
    """Write the bundle of a model defined in a script: inferred requirements, interface,
    pickled methods, local modules and samples with their outputs."""
    with user_errors():
        model = load_object(model_ref)
        if not isinstance(model, Model):
            raise ScriptError(f"{model_ref} is a {type(model).__name__}, not a modelbay.Model")
        path = dump_bundle(
            model,
            name,
            out,
            requirements=requirement,
            exclude=exclude,
            local_files=local_file,
            local_modules=local_module,
            description=description,
            license=license,
            tags=tag,
            replace=replace,
        )
        manifest = read_manifest(path)
    requirements = ", ".join(manifest["requirements"]) or "none"
    console().print(f"Wrote {path} — requirements: {requirements}", highlight=False)


def inspect(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory or .tar.gz archive.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw manifest.json.")] = False,
    proto: Annotated[bool, typer.Option(help="Show the proto3 interface.")] = True,
) -> None:
    """Show a bundle: methods, requirements with the reason each was included, local code,
    samples and the proto3 interface. Checksums are verified."""
    with user_errors(), tempfile.TemporaryDirectory(prefix="modelbay-inspect-") as work:
        root = bundle if bundle.is_dir() else extract_archive(bundle, Path(work))
        manifest = read_manifest(root)
        verify_checksums(root, manifest)
        if as_json:
            typer.echo(json.dumps(manifest, indent=2))
            return
        show_manifest(console(), manifest)
        if proto:
            text = (root / PROTO).read_text(encoding="utf-8")
            console().print(Syntax(text, "protobuf", theme="ansi_dark", word_wrap=True))


def show_manifest(out: Console, manifest: dict[str, Any]) -> None:
    # Everything from the bundle is escaped: `[true, false]` is JSON, not rich markup.
    out.print(
        f"[bold]{escape(str(manifest['name']))}[/]  (bundle spec {escape(str(manifest['spec']))}, "
        f"Python {escape(str(manifest.get('python')))}, "
        f"created {escape(str(manifest.get('created_at')))}) — checksums OK",
        highlight=False,
    )
    for key in ("description", "license", "tags"):
        if manifest.get(key):
            out.print(f"{key}: {escape(str(manifest[key]))}", highlight=False)
    out.print(_methods_table(manifest))
    out.print(_requirements_table(manifest))
    for dropped in manifest.get("dropped_requirements", []):
        text = f"not listed: {dropped['name']} ({dropped['reason']})"
        out.print(f"[dim]{escape(text)}[/]", highlight=False)
    for local in manifest.get("local_modules", []):
        out.print(escape(f"local module {local['name']}: {', '.join(local['files'])}"))
    for unresolved in manifest.get("unresolved_imports", []):
        text = f"unresolved import {unresolved['module']} ({unresolved['found']})"
        out.print(f"[yellow]{escape(text)}[/]", highlight=False)
    for method, samples in manifest.get("samples", {}).items():
        first = samples[0]
        text = (
            f"samples of {method}: {len(samples)}; first: "
            f"{_truncate(first['input'])} → {_truncate(first['output'])}"
        )
        out.print(escape(text), highlight=False)


def _methods_table(manifest: dict[str, Any]) -> Table:
    table = Table("method", "input", "output", "batchable", "description", title="Methods")
    for name, method in manifest["methods"].items():
        table.add_row(
            name,
            method["input_message"],
            method["output_message"],
            "yes" if method.get("batchable") else "no",
            escape(str(method.get("description", ""))),
        )
    return table


def _requirements_table(manifest: dict[str, Any]) -> Table:
    table = Table("requirement", "why", title="Requirements")
    reasons = manifest.get("requirement_reasons", {})
    for requirement in manifest["requirements"]:
        name = requirement.split("=")[0].split("<")[0].split(">")[0].split("[")[0].strip()
        table.add_row(escape(requirement), escape("\n".join(reasons.get(name, []))))
    return table


def _truncate(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
