"""Validating a built image: start it locked down, wait for readiness, replay every sample.

The container runs with no network, memory and CPU limits, a read-only root (plus a tmpfs on /tmp),
no capabilities and no privilege escalation. Because it has no network, the probes and sample
calls are small Python scripts run *inside* it with `docker exec`, talking to the server on the
container's own loopback. The samples' inputs are read from the bundle in the image
(`/model/manifest.json`); the expected outputs come from the builder's own copy of the manifest.
The container is always removed. While it runs, the venv's distributions are listed for the SBOM.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container
from modelbay_common.scratch import owner_tag

from modelbay_builder.compare import Tolerance, check_sample_answer
from modelbay_builder.context import MODEL_DIR, SERVER_PORT, VENV
from modelbay_builder.debris import OWNER_LABEL, VALIDATION_LABEL
from modelbay_builder.errors import ImageValidationFailed
from modelbay_builder.failure_reason import server_exit_reason

PYTHON = f"{VENV}/bin/python"
LOG_TAIL_LINES = 50

READY_PROBE = f"""
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:{SERVER_PORT}/readyz", timeout=2)
except Exception as exc:
    print(exc)
    sys.exit(1)
"""

SAMPLES_SCRIPT = f"""
import json, sys, urllib.error, urllib.parse, urllib.request
timeout = float(sys.argv[1])
with open("{MODEL_DIR}/manifest.json", encoding="utf-8") as handle:
    samples = json.load(handle).get("samples") or {{}}
results = []
for method in sorted(samples):
    for index, sample in enumerate(samples[method]):
        url = "http://127.0.0.1:{SERVER_PORT}/model/methods/" + urllib.parse.quote(method)
        request = urllib.request.Request(
            url, data=json.dumps(sample["input"]).encode(), method="POST",
            headers={{"Content-Type": "application/json", "Accept": "application/json"}})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, body = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", "replace")
        except Exception as exc:
            status, body = 0, repr(exc)
        results.append({{"method": method, "index": index, "status": status, "body": body}})
print(json.dumps(results))
"""

DISTRIBUTIONS_SCRIPT = """
import importlib.metadata as metadata, json, re
found = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    found.setdefault(key, {
        "name": name,
        "version": dist.version,
        "license": dist.metadata.get("License-Expression") or dist.metadata.get("License") or "",
        "summary": dist.metadata.get("Summary") or "",
    })
print(json.dumps([found[key] for key in sorted(found)]))
"""


@dataclass(frozen=True)
class ValidationLimits:
    memory: str
    cpus: float
    ready_timeout: float
    sample_timeout: float
    tolerance: Tolerance


@dataclass(frozen=True)
class ValidationReport:
    samples_checked: int
    distributions: list[dict[str, str]]
    idle_memory_bytes: int | None = None


def validate_image(
    client: docker.DockerClient,
    image_id: str,
    manifest: Mapping[str, Any],
    limits: ValidationLimits,
    *,
    label: str,
) -> ValidationReport:
    """Run the image, check readiness and every sample; raise ImageValidationFailed if not."""
    container = _start(client, image_id, limits, label)
    try:
        _wait_until_ready(container, limits.ready_timeout)
        idle_memory = idle_memory_bytes(container)  # loaded, before any sample
        checked = _check_samples(container, manifest, limits)
        distributions = _list_distributions(container)
        return ValidationReport(checked, distributions, idle_memory)
    finally:
        _remove(container)


def _start(
    client: docker.DockerClient, image_id: str, limits: ValidationLimits, label: str
) -> Container:
    try:
        container: Container = client.containers.run(
            image_id,
            detach=True,
            name=f"modelbay-validate-{uuid.uuid4().hex[:12]}",
            network_mode="none",
            mem_limit=limits.memory,
            memswap_limit=limits.memory,  # the same value: no swap on top of the limit
            nano_cpus=int(limits.cpus * 1e9),  # a model spinning at load cannot take the host
            read_only=True,
            tmpfs={"/tmp": "rw,nosuid,nodev,size=256m"},
            pids_limit=512,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            # The owner tag lets the next builder on this host remove it if this one is killed.
            labels={VALIDATION_LABEL: label, OWNER_LABEL: owner_tag()},
        )
    except DockerException as exc:
        raise ImageValidationFailed(f"the image could not be started: {exc}") from exc
    return container


def _wait_until_ready(container: Container, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        if container.status in ("exited", "dead"):
            code = container.attrs.get("State", {}).get("ExitCode")
            log_tail = _logs(container)
            raise ImageValidationFailed(server_exit_reason(code, log_tail), log_tail=log_tail)
        if _exec(container, [PYTHON, "-c", READY_PROBE])[0] == 0:
            return
        if time.monotonic() > deadline:
            reason = f"the model server did not become ready within {timeout:g} s"
            raise ImageValidationFailed(reason, log_tail=_logs(container))
        time.sleep(0.3)


def idle_memory_bytes(container: Container) -> int | None:
    """The container's memory in use, as `docker stats` shows it (usage less the inactive page
    cache, which the kernel reclaims first); None when the engine does not report it."""
    try:
        stats: dict[str, Any] = container.stats(stream=False, one_shot=True)
    except (DockerException, TypeError):
        return None
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if not isinstance(usage, int) or usage <= 0:
        return None
    details = memory.get("stats") or {}
    inactive = details.get("inactive_file", details.get("total_inactive_file", 0))
    return usage - inactive if isinstance(inactive, int) and inactive < usage else usage


def _check_samples(
    container: Container, manifest: Mapping[str, Any], limits: ValidationLimits
) -> int:
    command = [PYTHON, "-c", SAMPLES_SCRIPT, str(limits.sample_timeout)]
    code, output = _exec(container, command)
    if code != 0:
        raise ImageValidationFailed(
            f"the sample runner failed inside the container: {output[-500:]}",
            log_tail=_logs(container),
        )
    results = json.loads(output)
    recorded = manifest.get("samples") or {}
    for result in results:
        expected = recorded[result["method"]][result["index"]]["output"]
        check_sample_answer(
            result["method"],
            result["index"],
            result["status"],
            _json_or_text(result["body"]),
            expected,
            limits.tolerance,
            lambda: _logs(container),
        )
    return len(results)


def _list_distributions(container: Container) -> list[dict[str, str]]:
    code, output = _exec(container, [PYTHON, "-c", DISTRIBUTIONS_SCRIPT])
    if code != 0:
        raise ImageValidationFailed(f"listing the image's Python packages failed: {output[-500:]}")
    distributions: list[dict[str, str]] = json.loads(output)
    return distributions


def _exec(container: Container, command: list[str]) -> tuple[int, str]:
    try:
        result = container.exec_run(command, demux=True)
    except APIError as exc:  # the container stopped between the status check and the exec
        return 1, str(exc)
    stdout, stderr = result.output or (None, None)
    text = (stdout or b"").decode("utf-8", "replace")
    if result.exit_code != 0:
        text += (stderr or b"").decode("utf-8", "replace")
    return int(result.exit_code if result.exit_code is not None else 1), text


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


def _logs(container: Container) -> str:
    try:
        raw: bytes = container.logs(tail=LOG_TAIL_LINES)
    except DockerException:
        return ""
    return raw.decode("utf-8", "replace")


def _remove(container: Container) -> None:
    with contextlib.suppress(NotFound):
        container.remove(force=True)
