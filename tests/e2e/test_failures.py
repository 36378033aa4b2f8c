"""Failures end cleanly: a version that cannot be resolved or whose samples do not reproduce in
the container ends `failed` with a reason a contributor can act on; a corrupted, unsafe or
oversized upload is refused with a 4xx naming the problem, and nothing is stored."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
from e2e_client import MAX_UPLOAD_BYTES, Gateway, describe_failure, explain
from e2e_models import dump_model, push_bundle
from e2e_stack import Stack
from modelbay.bundle import archive_to_file

ListObjects = Callable[[], set[str]]


async def test_unsatisfiable_requirement_fails_with_pips_reason(
    alice: Gateway, tmp_path: Path
) -> None:
    bundle = await dump_model("doubler", "doubler", tmp_path / "doubler", "-r", "numpy==99999.0")
    pushed = await push_bundle(alice, bundle, f"{alice.username}/doubler")
    detail = await alice.follow(alice.username, "doubler", pushed.version)

    assert detail["status"] == "failed", describe_failure(detail)
    words = f"{detail['reason']} {detail['failure']}"
    assert "numpy==99999.0" in words, describe_failure(detail)
    assert "no matching distribution" in words.lower(), describe_failure(detail)


async def test_sample_that_differs_in_the_container_fails_naming_it(
    alice: Gateway, tmp_path: Path
) -> None:
    bundle = await dump_model("where_am_i", "where_am_i", tmp_path / "where_am_i")
    pushed = await push_bundle(alice, bundle, f"{alice.username}/where_am_i")
    detail = await alice.follow(alice.username, "where_am_i", pushed.version)

    assert detail["status"] == "failed", describe_failure(detail)
    sample = detail["failure"]["sample"]
    assert sample["method"] == "where", describe_failure(detail)
    assert sample["sample_index"] == 0, describe_failure(detail)
    assert sample["expected"] == {"prefix": sys.prefix}, describe_failure(detail)
    assert sample["actual"] != sample["expected"], describe_failure(detail)
    assert "where" in detail["reason"], describe_failure(detail)


def _zip_slip_archive(bundle: Path, target: Path) -> bytes:
    """A real bundle plus one member that would land outside the extraction directory."""
    archive_to_file(bundle, target)
    buffer = io.BytesIO()
    with tarfile.open(target) as source, tarfile.open(fileobj=buffer, mode="w:gz") as out:
        for member in source.getmembers():
            out.addfile(member, source.extractfile(member))
        evil = tarfile.TarInfo("../../../tmp/modelbay-e2e-escaped.py")
        payload = b"print('escaped')\n"
        evil.size = len(payload)
        out.addfile(evil, io.BytesIO(payload))
    return buffer.getvalue()


async def _refused(gateway: Gateway, name: str, body: bytes) -> httpx.Response:
    return await gateway.http.post(
        f"/v1/models/{gateway.username}/{name}/versions",
        content=body,
        headers={"Content-Type": "application/gzip"},
    )


async def test_bad_uploads_are_refused_and_nothing_is_stored(
    alice: Gateway, stack: Stack, stored_objects: ListObjects, tmp_path: Path
) -> None:
    bundle = await dump_model("doubler", "doubler", tmp_path / "doubler")
    before = stored_objects()
    cases = {
        "corrupted": (b"\x1f\x8b\x08\x00" + os.urandom(4096), 400, "archive"),
        "zip-slip": (_zip_slip_archive(bundle, tmp_path / "ok.tar.gz"), 400, ".."),
        "oversized": (os.urandom(MAX_UPLOAD_BYTES + 1024 * 1024), 413, "bytes"),
    }
    for case, (body, status, named) in cases.items():
        response = await _refused(alice, f"refused-{case}", body)
        assert response.status_code == status, f"{case}: {explain(response)}"
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert named in f"{problem.get('title')} {problem.get('detail')}", f"{case}: {problem}"

    assert stored_objects() == before, "a refused upload left objects in the blob store"
    for case in cases:
        model = await alice.http.get(f"/v1/models/{alice.username}/refused-{case}")
        assert model.status_code == 404, explain(model)
    assert not await asyncio.to_thread(Path("/tmp/modelbay-e2e-escaped.py").exists)
