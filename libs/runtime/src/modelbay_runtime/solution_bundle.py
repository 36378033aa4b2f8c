"""The solution bundle: what the platform stores for a solution version and bakes into its image.

A bundle like a model's (docs/bundle.md: manifest with SHA-256 of every file, `model.proto`,
`model.descriptor.pb`, `schemas.json`, the same deterministic archive), with `kind: "solution"`
in the manifest and, instead of a pickle, the resolved document and each node's interface:

    manifest.json              kind "solution", name, methods, nodes, files
    solution.json              the document with every node resolved (image, messages)
    nodes/<node>.descriptor.pb each node's FileDescriptorSet, as its model version has it
    model.proto                the solution's own interface (modelbay_runtime.solution_proto)
    model.descriptor.pb
    schemas.json               the method's JSON Schemas (entry node's input, output node's output)

Onboarding writes it at definition time (`build_solution_files`); the image's server finds
`solution.json` in the bundle directory and runs the orchestrator instead of a model.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelbay_runtime.solution import (
    SOLUTION_FILE,
    SOLUTION_KIND,
    SOLUTION_SPEC,
    SolutionDocument,
)
from modelbay_runtime.solution_parse import parse_document
from modelbay_runtime.solution_proto import MessageSource, build_solution_interface

MANIFEST = "manifest.json"
PROTO = "model.proto"
DESCRIPTOR_SET = "model.descriptor.pb"
SCHEMAS = "schemas.json"
NODES_DIR = "nodes"


class SolutionBundleError(ValueError):
    """The directory is not a complete, untampered solution bundle."""


@dataclass(frozen=True)
class NodeInterface:
    """What a node's model version contributes: its descriptor set, its `schemas.json` and its
    manifest `methods` entries (for the method's type trees)."""

    descriptor_set: bytes
    schemas: Mapping[str, Any]
    manifest_methods: Mapping[str, Any]


def node_descriptor_path(node_id: str) -> str:
    return f"{NODES_DIR}/{node_id}.descriptor.pb"


def is_solution_bundle(bundle_dir: str | Path) -> bool:
    return (Path(bundle_dir) / SOLUTION_FILE).is_file()


def build_solution_files(
    name: str,
    document: SolutionDocument,
    nodes: Mapping[str, NodeInterface],
    *,
    python_version: str,
) -> dict[str, bytes]:
    """Every file of the bundle (manifest last, over the others' SHA-256). `document` must be
    resolved (each node's messages known) and checked; `nodes` maps node ids to interfaces."""
    entry = document.nodes[document.entry_nodes()[0]]
    exit_node = document.nodes[document.output]
    if entry.resolved is None or exit_node.resolved is None:
        raise ValueError("the document must be resolved before its bundle is written")
    interface = build_solution_interface(
        name,
        document.method,
        MessageSource(nodes[entry.id].descriptor_set, entry.resolved.input_message),
        MessageSource(nodes[exit_node.id].descriptor_set, exit_node.resolved.output_message),
    )
    entry_method = dict(nodes[entry.id].manifest_methods.get(entry.method) or {})
    exit_method = dict(nodes[exit_node.id].manifest_methods.get(exit_node.method) or {})
    schemas = {
        document.method: {
            "input": nodes[entry.id].schemas[entry.method]["input"],
            "output": nodes[exit_node.id].schemas[exit_node.method]["output"],
        }
    }
    files: dict[str, bytes] = {
        # Not key-sorted: node order matters (the first entry node gives the solution's input).
        SOLUTION_FILE: _json_bytes(document.to_dict(), sort_keys=False),
        PROTO: interface.proto_text.encode(),
        DESCRIPTOR_SET: interface.descriptor_set,
        SCHEMAS: _json_bytes(schemas),
    }
    for node_id in document.nodes:
        files[node_descriptor_path(node_id)] = nodes[node_id].descriptor_set
    method_entry: dict[str, Any] = {
        "description": document.description or f"Solution {name}",
        "input_message": interface.input_message,
        "output_message": interface.output_message,
        "wrapped_input": False,
        "wrapped_output": False,
        "batchable": False,
    }
    if "input_type" in entry_method:
        method_entry["input_type"] = entry_method["input_type"]
    if "output_type" in exit_method:
        method_entry["output_type"] = exit_method["output_type"]
    manifest: dict[str, Any] = {
        "spec": SOLUTION_SPEC,
        "kind": SOLUTION_KIND,
        "name": name,
        "python": python_version,
        "proto_package": interface.package,
        "methods": {document.method: method_entry},
        "requirements": [],
        "samples": {},
        "nodes": {node.id: str(node.model) for node in document.nodes.values()},
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())},
    }
    if document.description:
        manifest["description"] = document.description
    files[MANIFEST] = _json_bytes(manifest)
    return files


def archive(files: Mapping[str, bytes]) -> bytes:
    """The deterministic `.tar.gz` of docs/bundle.md ("The archive"): equal files, equal bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(files[path]), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[path]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as compressed:
        compressed.write(raw.getvalue())
    return out.getvalue()


def write_solution_bundle(files: Mapping[str, bytes], directory: str | Path) -> Path:
    """Write `files` as a bundle directory (tests, local runs)."""
    root = Path(directory)
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@dataclass(frozen=True)
class SolutionBundle:
    """A verified solution bundle as the orchestrator reads it."""

    name: str
    manifest: dict[str, Any]
    document: SolutionDocument
    proto_text: str
    descriptor_set: bytes
    schemas: dict[str, Any]
    node_descriptor_sets: dict[str, bytes]

    @classmethod
    def read(cls, directory: str | Path) -> SolutionBundle:
        root = Path(directory)
        manifest = _read_json(root / MANIFEST)
        if manifest.get("kind") != SOLUTION_KIND or str(manifest.get("spec")) != SOLUTION_SPEC:
            raise SolutionBundleError(
                f"{root} is not a solution bundle of spec {SOLUTION_SPEC!r} "
                f"(kind {manifest.get('kind')!r}, spec {manifest.get('spec')!r})"
            )
        listed = manifest.get("files")
        if not isinstance(listed, dict):
            raise SolutionBundleError(f"{root / MANIFEST} lists no files")
        contents: dict[str, bytes] = {}
        for path, expected in listed.items():
            try:
                data = (root / path).read_bytes()
            except OSError as exc:
                raise SolutionBundleError(f"{path} is listed but unreadable: {exc}") from None
            if hashlib.sha256(data).hexdigest() != str(expected).lower():
                raise SolutionBundleError(f"{path} does not match its SHA-256 in the manifest")
            contents[path] = data
        for required in (SOLUTION_FILE, PROTO, DESCRIPTOR_SET, SCHEMAS):
            if required not in contents:
                raise SolutionBundleError(f"the manifest does not list {required}")
        document = parse_document(json.loads(contents[SOLUTION_FILE]))
        nodes: dict[str, bytes] = {}
        for node_id, node in document.nodes.items():
            path = node_descriptor_path(node_id)
            if path not in contents or node.resolved is None:
                raise SolutionBundleError(f"node {node_id} has no resolved interface ({path})")
            nodes[node_id] = contents[path]
        return cls(
            name=str(manifest.get("name") or root.name),
            manifest=manifest,
            document=document,
            proto_text=contents[PROTO].decode("utf-8"),
            descriptor_set=contents[DESCRIPTOR_SET],
            schemas=json.loads(contents[SCHEMAS]),
            node_descriptor_sets=nodes,
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SolutionBundleError(f"cannot read {path}: {exc}") from None
    if not isinstance(value, dict):
        raise SolutionBundleError(f"{path} is not a JSON object")
    return value


def _json_bytes(value: Any, *, sort_keys: bool = True) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=sort_keys) + "\n").encode()
