"""The descriptor set must load and declare exactly the manifest's methods and messages.

The image serves protobuf with message classes built from this descriptor set, and the
manifest's type tree drives the JSON side; if they disagree, one of the two encodings of the
model's API would be wrong. Checking it here turns that into a rejection a contributor can act
on instead of a broken image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError
from modelbay_runtime.loader import DESCRIPTOR_SET

from modelbay_onboarding.validation.manifest import Manifest, ManifestMethod
from modelbay_onboarding.validation.problems import BundleProblems

_FIELD_KINDS = ("message", "dataframe")


def check_descriptor_set(raw: bytes, manifest: Manifest, problems: BundleProblems) -> None:
    """Record every disagreement between the descriptor set and the manifest in `problems`."""
    pool = _load_pool(raw, problems)
    if pool is None:
        return
    rpcs = _service_methods(descriptor_pb2.FileDescriptorSet.FromString(raw))
    declared, described = set(manifest.methods), set(rpcs)
    for missing in sorted(declared - described):
        problems.add(f"{DESCRIPTOR_SET}", f"method {missing!r} is in the manifest but has no rpc")
    for extra in sorted(described - declared):
        problems.add(f"{DESCRIPTOR_SET}", f"rpc {extra!r} is not a method of the manifest")
    for name in sorted(declared & described):
        _check_method(name, manifest.methods[name], rpcs[name], pool, problems)


def _load_pool(raw: bytes, problems: BundleProblems) -> descriptor_pool.DescriptorPool | None:
    try:
        file_set = descriptor_pb2.FileDescriptorSet.FromString(raw)
    except DecodeError as exc:
        problems.add(DESCRIPTOR_SET, f"is not a serialized FileDescriptorSet ({exc})")
        return None
    if not file_set.file:
        problems.add(DESCRIPTOR_SET, "holds no proto file")
        return None
    # A private pool: the default one is process-wide and would mix models together.
    pool = descriptor_pool.DescriptorPool()
    try:
        for file_proto in file_set.file:
            pool.Add(file_proto)
        for file_proto in file_set.file:
            pool.FindFileByName(file_proto.name)  # builds it: unresolved types fail here
    except (TypeError, KeyError, ValueError) as exc:
        problems.add(DESCRIPTOR_SET, f"does not load as a consistent set of proto files ({exc})")
        return None
    return pool


def _service_methods(file_set: descriptor_pb2.FileDescriptorSet) -> dict[str, tuple[str, str]]:
    """rpc name → (input type, output type), fully qualified without the leading dot."""
    methods: dict[str, tuple[str, str]] = {}
    for file_proto in file_set.file:
        for service in file_proto.service:
            for rpc in service.method:
                methods[rpc.name] = (rpc.input_type.lstrip("."), rpc.output_type.lstrip("."))
    return methods


def _check_method(
    name: str,
    method: ManifestMethod,
    rpc: tuple[str, str],
    pool: descriptor_pool.DescriptorPool,
    problems: BundleProblems,
) -> None:
    sides = (
        ("input", method.input_message, rpc[0], method.input_type),
        ("output", method.output_message, rpc[1], method.output_type),
    )
    for side, declared, described, type_tree in sides:
        where = f"manifest.methods.{name}.{side}_message"
        if declared != described:
            problems.add(where, f"is {declared!r} but the rpc {name!r} declares {described!r}")
            continue
        try:
            message = pool.FindMessageTypeByName(declared)
        except KeyError:
            problems.add(where, f"message {declared!r} is not in {DESCRIPTOR_SET}")
            continue
        _check_fields(f"manifest.methods.{name}.{side}_type", message, type_tree, problems)


def _check_fields(
    where: str, message: Descriptor, type_tree: Mapping[str, Any], problems: BundleProblems
) -> None:
    """The message's fields (name and number) are the ones the manifest's type tree lists."""
    if type_tree.get("kind") not in _FIELD_KINDS or not isinstance(type_tree.get("fields"), list):
        problems.add(where, "must describe a message with a list of 'fields'")
        return
    declared = {
        (str(field.get("name")), field.get("number"))
        for field in type_tree["fields"]
        if isinstance(field, Mapping)
    }
    described = {(field.name, field.number) for field in message.fields}
    if declared != described:
        problems.add(
            where,
            f"fields {sorted(declared, key=str)} differ from those of message "
            f"{message.full_name} in {DESCRIPTOR_SET}: {sorted(described)}",
        )
