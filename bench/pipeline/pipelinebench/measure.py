"""One measured push: upload the Fig. 2 bundle, follow it to `ready`, record the times.

push → ready is measured by the client from the start of the upload until a poll (every 0.2 s)
sees `ready`, so it includes the upload and up to 0.2 s of polling. The server's own view
(upload recorded → finished) and the stages come from the version's `timings`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from modelbay.bundle import archive_to_file, extract_archive
from modelbay.session import Session

from pipelinebench.platforms import Platform

ROOT = Path(__file__).resolve().parents[3]
FIG2_SCRIPT = ROOT / "examples" / "iris" / "iris_fig2.py"
NAME = "iris_model"
POLL_SECONDS = 0.2
BOUND_SECONDS = 1800.0


@dataclass(frozen=True)
class RunResult:
    mode: str
    kind: str  # "cold" or "warm"
    status: str
    push_to_ready_s: float
    server_total_s: float | None
    resolve_s: float | None
    build_s: float | None
    validation_s: float | None
    # Signing the image and its provenance (issue 12); None where the builder has no key.
    signing_s: float | None
    dependency_layer_cached: bool | None
    wheelhouse_reused: bool | None
    image_ref: str | None
    registry_image_bytes: int | None
    lock_hash: str | None
    wheelhouse_bytes: int | None
    archive_bytes: int
    reason: str | None


def fig2_bundle(work: Path) -> Path:
    """Run the paper's Fig. 2 script against a `file://` target and unpack the bundle it wrote."""
    target = work / "fig2-push"
    target.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env["MODELBAY_URL"] = target.as_uri()
    subprocess.run([sys.executable, str(FIG2_SCRIPT)], env=env, cwd=target, check=True)
    archive = sorted(target.glob("*.tar.gz"))[-1]
    return extract_archive(archive, work / "fig2-bundle")


def bundle_variant(bundle_dir: Path, label: str, out: Path) -> Path:
    """The same model and lock with a different description: a new bundle, so the model layer
    is rebuilt while the dependency layer may be reused (what a retrained model looks like)."""
    manifest_path = bundle_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["description"] = f"Fig. 2 iris classifier ({label})"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return archive_to_file(bundle_dir, out)


async def new_user(platform: Platform) -> tuple[str, str]:
    username = f"bench-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=platform.url, timeout=60) as http:
        response = await http.post(
            "/v1/users",
            json={"username": username},
            headers={"Authorization": f"Bearer {platform.token}"},
        )
    response.raise_for_status()
    return username, str(response.json()["token"]["token"])


async def _follow(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        response = await http.get(path)
        if response.status_code == 200:
            detail: dict[str, Any] = response.json()
            if detail["status"] in ("ready", "failed"):
                return detail
        elif response.status_code != 404:  # 404: the catalog has not heard of it yet
            response.raise_for_status()
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"{path} did not end within {BOUND_SECONDS:.0f} s")


async def push_once(
    platform: Platform, mode: str, kind: str, user: tuple[str, str], archive: Path
) -> RunResult:
    username, token = user
    session = Session(url=platform.url, token=token, progress=False)
    started = time.monotonic()
    pushed = await asyncio.to_thread(session.push_bundle, archive, f"{username}/{NAME}")
    path = f"/v1/models/{username}/{NAME}/versions/{pushed.version}"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=platform.url, headers=headers, timeout=60) as http:
        detail = await _follow(http, path)
    elapsed = time.monotonic() - started
    timings = detail.get("timings") or {}
    image = detail.get("image") or {}
    lock_hash = detail.get("lock_hash")
    return RunResult(
        mode=mode,
        kind=kind,
        status=str(detail["status"]),
        push_to_ready_s=elapsed,
        server_total_s=timings.get("total_seconds"),
        resolve_s=timings.get("resolve_seconds"),
        build_s=timings.get("build_seconds"),
        validation_s=timings.get("validation_seconds"),
        signing_s=timings.get("signing_seconds"),
        dependency_layer_cached=image.get("dependency_layer_cached"),
        wheelhouse_reused=detail.get("wheelhouse_reused"),
        image_ref=detail.get("image_ref"),
        registry_image_bytes=image.get("size"),
        lock_hash=lock_hash,
        wheelhouse_bytes=await platform.wheelhouse_bytes(lock_hash) if lock_hash else None,
        archive_bytes=(await asyncio.to_thread(archive.stat)).st_size,
        reason=detail.get("reason"),
    )
