"""Pre-built images (`"kind": "image"`, docs/prebuilt-images.md): load, label, contract-test.

A contributor in any language pushes a `docker save` tarball with its `.proto`, or names an
image in their staging space of the platform's registry. Nothing is built: the image is loaded or
pulled and labelled (prebuilt_source.py), and then it is contract-tested in the validation sandbox
of every image (validation._start: no network, read-only root, memory/CPU/pid limits, no
capabilities). Such an image need not contain Python or curl, so the HTTP calls come from a
*probe* container that joins the model container's network namespace (still no network beyond
its loopback) and runs a stdlib-only script; the requests and the checking of the answers are
made here, from the descriptor set.

The contract, for every rpc of the proto's service: `GET /healthz` answers 200; `POST
/model/methods/{rpc}` answers a generated sample input with 200, as JSON (`application/json`,
proto field names, parsed strictly into the output message) and as protobuf
(`application/x-protobuf`, parsed into the output message), and both answers agree.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import tarfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from modelbay_common.scratch import owner_tag
from modelbay_runtime.loader import DESCRIPTOR_SET

from modelbay_builder.context import SERVER_PORT
from modelbay_builder.contract_samples import fill_sample, message_classes
from modelbay_builder.debris import OWNER_LABEL, VALIDATION_LABEL
from modelbay_builder.errors import ImageValidationFailed
from modelbay_builder.validation import (
    ValidationLimits,
    ValidationReport,
    _logs,
    _remove,
    _start,
    idle_memory_bytes,
    validate_image,
)

PREBUILT_KIND = "image"
JSON = "application/json"
PROTOBUF = "application/x-protobuf"
DPKG_STATUS = "/var/lib/dpkg/status"

# Runs in the probe container (any image with python3): stdlib only, loopback only.
PROBE_SCRIPT = f"""
import base64, json, sys, urllib.error, urllib.request
calls = json.loads(sys.argv[1])
answers = []
for call in calls:
    data = base64.b64decode(call["body"]) if call["body"] is not None else None
    request = urllib.request.Request(
        "http://127.0.0.1:{SERVER_PORT}" + call["path"], data=data,
        method="POST" if data is not None else "GET", headers=call["headers"])
    try:
        with urllib.request.urlopen(request, timeout=float(sys.argv[2])) as response:
            status, body = response.status, response.read()
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, kind, body = exc.code, exc.headers.get("Content-Type", ""), exc.read()
    except Exception as exc:
        status, kind, body = 0, "", repr(exc).encode()
    answers.append({{"status": status, "type": kind, "body": base64.b64encode(body).decode()}})
print(json.dumps(answers))
"""


@dataclass(frozen=True)
class ContractReport(ValidationReport):
    """What the contract test found: methods checked and the image's Debian packages."""

    debian_packages: tuple[dict[str, Any], ...] = ()


def is_prebuilt(manifest: Mapping[str, Any]) -> bool:
    return manifest.get("kind") == PREBUILT_KIND


def validator_for(
    manifest: Mapping[str, Any], bundle_root: Path, probe_image: str
) -> Callable[..., ValidationReport]:
    """The sample replay of a built image, or the contract test of a pushed one (its probe runs
    in the registered Python base image, which the engine has)."""
    if not is_prebuilt(manifest):
        return validate_image
    return partial(
        contract_test_image,
        descriptor_set=(bundle_root / DESCRIPTOR_SET).read_bytes(),
        probe_image=probe_image,
    )


def pushed_image_packages(report: ValidationReport) -> tuple[dict[str, Any], ...]:
    """The SBOM's Debian components of a pushed image (none for a built one: its packages are
    the Python distributions the report lists, plus the request's system packages)."""
    return report.debian_packages if isinstance(report, ContractReport) else ()


def contract_test_image(
    client: docker.DockerClient,
    image_id: str,
    manifest: Mapping[str, Any],
    limits: ValidationLimits,
    *,
    label: str,
    descriptor_set: bytes,
    probe_image: str,
) -> ValidationReport:
    """Start the image sandboxed, check the contract for every method (ImageValidationFailed
    naming the method and what was wrong); the image's Debian packages for the SBOM."""
    classes = message_classes(descriptor_set)
    model = _start(client, image_id, limits, label)
    probe: Container | None = None
    try:
        probe = _start_probe(client, model, probe_image, label)
        _wait_healthy(model, probe, limits.ready_timeout)
        idle_memory = idle_memory_bytes(model)
        for method, entry in sorted(manifest["methods"].items()):
            _check_method(model, probe, method, entry, classes, limits.sample_timeout)
        return ContractReport(len(manifest["methods"]), [], idle_memory, debian_packages(model))
    finally:
        if probe is not None:
            _remove(probe)
        _remove(model)


def _start_probe(
    client: docker.DockerClient, model: Container, probe_image: str, label: str
) -> Container:
    try:
        probe: Container = client.containers.run(
            probe_image,
            ["python3", "-c", "import time; time.sleep(3600)"],
            detach=True,
            name=f"modelbay-probe-{uuid.uuid4().hex[:12]}",
            network_mode=f"container:{model.id}",  # its loopback, and nothing else
            mem_limit="128m",
            read_only=True,
            pids_limit=64,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            user="10001:10001",
            labels={VALIDATION_LABEL: label, OWNER_LABEL: owner_tag()},
        )
    except DockerException as exc:
        raise ImageValidationFailed(f"the contract probe could not be started: {exc}") from exc
    return probe


def _call(probe: Container, calls: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    result = probe.exec_run(
        ["python3", "-c", PROBE_SCRIPT, json.dumps(calls), str(timeout)], demux=True
    )
    stdout, stderr = result.output or (None, None)
    if result.exit_code != 0:
        detail = (stderr or b"").decode("utf-8", "replace")[-500:]
        raise ImageValidationFailed(f"the contract probe failed: {detail}")
    answers: list[dict[str, Any]] = json.loads(stdout or b"[]")
    for answer in answers:
        answer["body"] = base64.b64decode(answer["body"])
    return answers


def _wait_healthy(model: Container, probe: Container, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {"path": "/healthz", "headers": {}, "body": None}
    while True:
        model.reload()
        if model.status in ("exited", "dead"):
            code = model.attrs.get("State", {}).get("ExitCode")
            log_tail = _logs(model)
            raise ImageValidationFailed(
                f"the image's server exited (code {code}) before /healthz answered",
                log_tail=log_tail,
            )
        (answer,) = _call(probe, [health], 2.0)
        if answer["status"] == 200:
            return
        if time.monotonic() > deadline:
            raise ImageValidationFailed(
                f"GET /healthz did not answer 200 within {timeout:g} s "
                f"(last: {answer['status'] or answer['body'].decode('utf-8', 'replace')})",
                log_tail=_logs(model),
            )
        time.sleep(0.3)


def _check_method(
    model: Container,
    probe: Container,
    method: str,
    entry: Mapping[str, Any],
    classes: Mapping[str, type[Message]],
    timeout: float,
) -> None:
    request_class = classes[entry["input_message"]]
    reply_class = classes[entry["output_message"]]
    sample = request_class()
    fill_sample(sample, depth=0)
    natural = json_format.MessageToDict(sample, preserving_proto_field_name=True)
    path = f"/model/methods/{method}"
    over_json, over_protobuf = _call(
        probe,
        [
            {
                "path": path,
                "headers": {"Content-Type": JSON, "Accept": JSON},
                "body": base64.b64encode(json.dumps(natural).encode()).decode(),
            },
            {
                "path": path,
                "headers": {"Content-Type": PROTOBUF, "Accept": PROTOBUF},
                "body": base64.b64encode(sample.SerializeToString()).decode(),
            },
        ],
        timeout,
    )

    def fail(what: str, answer: Mapping[str, Any] | None = None) -> ImageValidationFailed:
        actual = None if answer is None else answer["body"].decode("utf-8", "replace")[:500]
        return ImageValidationFailed(
            f"method {method!r}: {what}",
            method=method,
            sample_index=0,
            expected=natural,
            actual=actual,
            log_tail=_logs(model),
        )

    from_json = _read_answer(over_json, JSON, reply_class, fail)
    from_protobuf = _read_answer(over_protobuf, PROTOBUF, reply_class, fail)
    as_json = json_format.MessageToDict(from_json, preserving_proto_field_name=True)
    as_protobuf = json_format.MessageToDict(from_protobuf, preserving_proto_field_name=True)
    if as_json != as_protobuf:
        raise fail(
            f"the JSON answer {as_json} and the protobuf answer {as_protobuf} differ for the "
            "same input"
        )


def _read_answer(
    answer: Mapping[str, Any], media_type: str, reply_class: type[Message], fail: Any
) -> Message:
    name = "JSON" if media_type == JSON else "protobuf"
    if answer["status"] != 200:
        raise fail(f"POST with a {name} body answered {answer['status'] or 'nothing'}", answer)
    if not str(answer["type"]).startswith(media_type):
        raise fail(
            f"the {name} answer has Content-Type {answer['type']!r}, not {media_type}", answer
        )
    reply = reply_class()
    try:
        if media_type == JSON:
            json_format.Parse(answer["body"], reply, ignore_unknown_fields=False)
        else:
            reply.ParseFromString(answer["body"])
    except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
        raise fail(
            f"the {name} answer is not a {reply_class.DESCRIPTOR.full_name}: {exc}", answer
        ) from None
    return reply


def debian_packages(container: Container) -> tuple[dict[str, Any], ...]:
    """The image's installed Debian packages (dpkg's status file, read without running
    anything in the image), as SBOM components with `pkg:deb` purls; [] without dpkg."""
    with contextlib.suppress(NotFound, DockerException):
        stream, _ = container.get_archive(DPKG_STATUS)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("status")
            if member is not None:
                return parse_dpkg_status(member.read().decode("utf-8", "replace"))
    return ()


def parse_dpkg_status(text: str) -> tuple[dict[str, Any], ...]:
    """Installed packages in the shape of the SBOM's system packages (sbom.build_sbom)."""
    packages = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if not fields.get("Status", "").endswith(" installed") or "Package" not in fields:
            continue
        name, version = fields["Package"], fields.get("Version", "")
        # `fetched: False`: in the image as pushed, not installed by the platform.
        packages.append(
            {"name": name, "version": version, "reasons": ["in the pushed image"], "fetched": False}
        )
    return tuple(sorted(packages, key=lambda p: p["name"]))
