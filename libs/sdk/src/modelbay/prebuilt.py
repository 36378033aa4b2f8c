"""Pre-built images: a model server in any language, pushed as an OCI image with its `.proto`
(docs/prebuilt-images.md).

`dump_prebuilt(image, proto, name, path)` writes a bundle of `"kind": "image"`: the `docker
save` tarball as `image.tar` — or, when `image` is a reference into the platform's registry
(`REGISTRY/staging/<you>/IMAGE:TAG` or `@sha256:...`, pushed there with `docker push`), just
that reference as the manifest's `image_reference` — the `.proto`, its descriptor set (compiled
with `protoc`, imports included) and JSON Schemas; the manifest's methods are the rpcs of the
proto's one service. The platform never runs the image outside its sandbox: the builder loads
or pulls it, contract-tests every method there and pushes it like an image it built.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from modelbay_runtime.loader import DESCRIPTOR_SET, MANIFEST, PROTO, SCHEMAS, SUPPORTED_SPEC

from modelbay.bundle import (
    ARCHIVE_SUFFIX,
    BundleError,
    _check_target,
    _write_json,
    check_name,
    file_checksums,
    write_archive,
)
from modelbay.session import PushResult, Session, split_name

IMAGE_KIND = "image"
IMAGE_FILE = "image.tar"
IMAGE_REFERENCE = "image_reference"
# What reads as an image reference rather than a file name: a registry host first (it has a `.`
# or a `:` port, or is `localhost`: Docker's own rule) and a tag or digest last. The platform
# checks the rest (its registry, the uploader's staging space) at upload.
_REFERENCE = re.compile(
    r"^(?:localhost|[\w-]+(?:\.[\w-]+)+|[\w.-]+:\d+|\[[0-9a-fA-F:]+\](?::\d+)?)/"
    r"[a-z0-9._/-]+(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
# gzip level of an image bundle's archive: a saved image is hundreds of MB of uncompressed
# layers; level 1 writes it about 4x faster than the default 9 for a few % more bytes.
IMAGE_COMPRESSLEVEL = 1
_FD = FieldDescriptor
_SCALARS: dict[int, tuple[str, dict[str, Any]]] = {
    _FD.TYPE_DOUBLE: ("double", {"type": "number"}),
    _FD.TYPE_FLOAT: ("float", {"type": "number"}),
    _FD.TYPE_INT64: ("int64", {"type": ["integer", "string"]}),
    _FD.TYPE_UINT64: ("uint64", {"type": ["integer", "string"]}),
    _FD.TYPE_SINT64: ("int64", {"type": ["integer", "string"]}),
    _FD.TYPE_FIXED64: ("uint64", {"type": ["integer", "string"]}),
    _FD.TYPE_SFIXED64: ("int64", {"type": ["integer", "string"]}),
    _FD.TYPE_INT32: ("int32", {"type": "integer"}),
    _FD.TYPE_UINT32: ("uint32", {"type": "integer"}),
    _FD.TYPE_SINT32: ("int32", {"type": "integer"}),
    _FD.TYPE_FIXED32: ("uint32", {"type": "integer"}),
    _FD.TYPE_SFIXED32: ("int32", {"type": "integer"}),
    _FD.TYPE_BOOL: ("bool", {"type": "boolean"}),
    _FD.TYPE_STRING: ("string", {"type": "string"}),
    _FD.TYPE_BYTES: ("bytes", {"type": "string", "contentEncoding": "base64"}),
}


def image_source(image: str | Path) -> Path | str:
    """A `docker save` tarball when `image` is an existing path, else an image reference when
    it reads as one (`REGISTRY/REPOSITORY:TAG` or `@sha256:...`); BundleError otherwise."""
    if Path(image).exists():
        return Path(image)
    text = str(image)
    if _REFERENCE.match(text) and (":" in text.rsplit("/", 1)[-1] or "@" in text):
        return text
    raise BundleError(
        f"{text} is neither a file (a `docker save` tarball) nor an image reference "
        "REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST"
    )


def dump_prebuilt(
    image_tar: str | Path,
    proto: str | Path,
    name: str,
    path: str | Path,
    *,
    description: str | None = None,
    license: str | None = None,
    replace: bool = False,
) -> Path:
    """Write the bundle of a pre-built image into the directory `path`; returns it.
    `image_tar` is a `docker save` tarball or a registry reference (`image_source`)."""
    check_name(name)
    source, proto = image_source(image_tar), Path(proto)
    if isinstance(source, Path):
        check_image_tar(source)
    file_set = compile_proto(proto)
    methods, package = service_methods(file_set, proto.name)
    target = Path(path)
    _check_target(target, replace=replace)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent.resolve()))
    try:
        if isinstance(source, Path):
            shutil.copyfile(source, staging / IMAGE_FILE)
        shutil.copyfile(proto, staging / PROTO)
        (staging / DESCRIPTOR_SET).write_bytes(file_set.SerializeToString(deterministic=True))
        _write_json(staging / SCHEMAS, {m: e.pop("schemas") for m, e in methods.items()})
        manifest: dict[str, Any] = {
            "spec": SUPPORTED_SPEC,
            "kind": IMAGE_KIND,
            "name": name,
            "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "proto_package": package,
            "methods": methods,
            "requirements": [],
            "samples": {},
        }
        if isinstance(source, str):
            manifest[IMAGE_REFERENCE] = source
        manifest.update(
            {k: v for k, v in {"description": description, "license": license}.items() if v}
        )
        manifest["files"] = file_checksums(staging)
        _write_json(staging / MANIFEST, manifest)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def check_image_tar(path: Path) -> None:
    """A `docker save` archive of exactly one image (read, never loaded)."""
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("manifest.json")
            entries = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BundleError(f"{path} is not a `docker save` archive: {exc}") from None
    if not isinstance(entries, list) or len(entries) != 1:
        raise BundleError(f"{path} must hold exactly one image (docker save IMAGE > {path.name})")


def compile_proto(proto: Path) -> descriptor_pb2.FileDescriptorSet:
    """`protoc --include_imports --descriptor_set_out` of the file (Debian: protobuf-compiler)."""
    protoc = shutil.which("protoc")
    if protoc is None:
        raise BundleError(
            "compiling the .proto needs protoc on PATH (apt install protobuf-compiler)"
        )
    with tempfile.TemporaryDirectory(prefix="modelbay-proto-") as work:
        out = Path(work) / "set.pb"
        result = subprocess.run(
            [
                protoc,
                f"-I{proto.parent}",
                "--include_imports",
                f"--descriptor_set_out={out}",
                proto.name,
            ],
            capture_output=True,
            text=True,
            cwd=proto.parent,
        )
        if result.returncode != 0:
            raise BundleError(f"protoc could not compile {proto}: {result.stderr.strip()}")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def service_methods(
    file_set: descriptor_pb2.FileDescriptorSet, proto_name: str
) -> tuple[dict[str, dict[str, Any]], str]:
    """The manifest's methods (rpcs of the file's one service) and the file's package."""
    pool = descriptor_pool.DescriptorPool()
    for file_proto in file_set.file:
        pool.Add(file_proto)
    main = pool.FindFileByName(proto_name)
    if len(main.services_by_name) != 1:
        raise BundleError(f"{proto_name} must declare exactly one service (the model's methods)")
    (service,) = main.services_by_name.values()
    methods: dict[str, dict[str, Any]] = {}
    for rpc in service.methods:
        if rpc.client_streaming or rpc.server_streaming:
            raise BundleError(f"rpc {rpc.name}: streaming rpcs cannot be served over REST")
        methods[rpc.name] = {
            "description": "",
            "input_message": rpc.input_type.full_name,
            "output_message": rpc.output_type.full_name,
            "wrapped_input": False,
            "wrapped_output": False,
            "batchable": False,
            "input_type": type_tree(rpc.input_type, ()),
            "output_type": type_tree(rpc.output_type, ()),
            "schemas": {
                "input": message_schema(rpc.input_type, ()),
                "output": message_schema(rpc.output_type, ()),
            },
        }
    return methods, main.package


def type_tree(message: Descriptor, seen: tuple[str, ...]) -> dict[str, Any]:
    """The manifest's type tree of a proto message (field names and numbers are what the
    platform checks against the descriptor set; types are for people and the catalog)."""
    tree: dict[str, Any] = {"kind": "message", "name": message.full_name, "message_kind": "proto"}
    if message.full_name in seen:
        return tree  # a recursive message: named, not expanded again
    tree["fields"] = [
        {"name": f.name, "number": f.number, "type": _field_tree(f, (*seen, message.full_name))}
        for f in message.fields
    ]
    return tree


def _field_tree(field: FieldDescriptor, seen: tuple[str, ...]) -> dict[str, Any]:
    if _is_map(field):
        return {
            "kind": "map",
            "key": "string",
            "value": _field_tree(_message(field).fields_by_name["value"], seen),
        }
    if field.type == _FD.TYPE_MESSAGE:
        item: dict[str, Any] = type_tree(_message(field), seen)
    elif field.type == _FD.TYPE_ENUM:
        values = [{"name": v.name, "number": v.number} for v in _enum(field).values]
        item = {"kind": "enum", "name": _enum(field).full_name, "values": values}
    else:
        item = {"kind": "scalar", "proto": _SCALARS[field.type][0]}
    return {"kind": "list", "item": item} if _repeated(field) else item


def message_schema(message: Descriptor, seen: tuple[str, ...]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the message's proto3 JSON, proto field names as keys."""
    if message.full_name in seen:
        return {"type": "object"}
    inner = (*seen, message.full_name)
    return {
        "type": "object",
        "properties": {f.name: _field_schema(f, inner) for f in message.fields},
    }


def _field_schema(field: FieldDescriptor, seen: tuple[str, ...]) -> dict[str, Any]:
    if _is_map(field):
        value = _field_schema(_message(field).fields_by_name["value"], seen)
        return {"type": "object", "additionalProperties": value}
    if field.type == _FD.TYPE_MESSAGE:
        item = message_schema(_message(field), seen)
    elif field.type == _FD.TYPE_ENUM:
        item = {
            "enum": [v.name for v in _enum(field).values] + [v.number for v in _enum(field).values]
        }
    else:
        item = dict(_SCALARS[field.type][1])
    return {"type": "array", "items": item} if _repeated(field) else item


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == _FD.TYPE_MESSAGE
        and _repeated(field)
        and _message(field).GetOptions().map_entry
    )


def _message(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None, field.full_name  # a TYPE_MESSAGE field has one
    return field.message_type


def _enum(field: FieldDescriptor) -> EnumDescriptor:
    assert field.enum_type is not None, field.full_name  # a TYPE_ENUM field has one
    return field.enum_type


def push_prebuilt(
    session: Session, image_tar: str | Path, proto: str | Path, name: str
) -> PushResult:
    """Bundle a pre-built image (a `docker save` tarball, or a reference into the platform's
    registry) with its `.proto` and upload it as `name` or `owner/name`
    (`modelbay push --image image.tar|REFERENCE --proto model.proto --name NAME`)."""
    owner, model_name = split_name(name)
    with tempfile.TemporaryDirectory(prefix="modelbay-push-") as work:
        bundle = dump_prebuilt(image_tar, proto, model_name, Path(work) / "bundle")
        archive = Path(work) / f"{model_name}{ARCHIVE_SUFFIX}"
        with archive.open("wb") as stream:
            write_archive(bundle, stream, compresslevel=IMAGE_COMPRESSLEVEL)
        return session._upload(archive, owner, model_name)
