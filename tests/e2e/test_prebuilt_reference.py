"""A pre-built image pushed by reference (issue 14, docs/prebuilt-images.md "By reference"):
the Node.js example (`examples/prebuilt-node`) goes into the contributor's staging space of the
platform's registry with a push token the gateway's realm grants them (what `docker login` +
`docker push` do), then `modelbay push --image REGISTRY/staging/<user>/thermo-node:1@sha256:...
--proto model.proto --name ...` uploads only the reference and the proto. The builder pulls it,
labels it, contract-tests it and pushes it as the version; the pulled version answers over JSON
and protobuf. A reference into another registry and one into another user's staging space are
refused at upload, each naming why.

Runs on the tier's shared stack: the bundle is a few KB (no tarball), so the upload limit of
the session's stack is enough. Marked `long` (`make test-long`), see below."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import docker
import pytest
from e2e_client import Gateway, describe_failure
from e2e_models import MODELBAY_CLI, REPO_ROOT, _run
from e2e_runtime import call_json, pull, remove_local_image, running_model
from test_prebuilt_stack import protobuf_call

EXAMPLE = REPO_ROOT / "examples" / "prebuilt-node"
EXAMPLE_TAG = "modelbay-examples/thermo-node:1"  # what build.sh tags


def push_to_staging(client: docker.DockerClient, repository: str, token: str) -> str:
    """`docker push REGISTRY/staging/<user>/thermo-node:1` with the user's token; its digest."""
    client.images.get(EXAMPLE_TAG).tag(repository, "1")
    digest = ""
    try:
        for line in client.api.push(
            repository, tag="1", stream=True, decode=True, auth_config={"registrytoken": token}
        ):
            assert "error" not in line, line
            digest = (line.get("aux") or {}).get("Digest", digest)
    finally:
        client.images.remove(f"{repository}:1", force=True)
    assert digest.startswith("sha256:"), digest
    return digest


def modelbay_push(gateway: Gateway, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env.update(MODELBAY_URL=gateway.url, MODELBAY_TOKEN=gateway.token)
    command = [str(MODELBAY_CLI), "push", "--interface-wait", "0", *args]
    command += ["--proto", str(EXAMPLE / "model.proto")]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


# `long` (make test-long): a whole pipeline run, ~6 min at load 12-15 here. What it adds over
# make test's pieces — the tarball e2e (test_prebuilt_stack.py), the real-registry pull by digest
# (integration/builder/test_builder_prebuilt_contract.py), the refusals and grants (unit) — is
# the path through the gateway's realm and onboarding together.
@pytest.mark.long
async def test_a_node_image_pushed_by_reference_goes_to_ready_and_answers(
    alice: Gateway, bob: Gateway, registry: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    build = ["bash", str(EXAMPLE / "build.sh"), str(tmp_path / "unused.tar")]
    await asyncio.to_thread(_run, build, dict(os.environ), tmp_path)
    staging = f"staging/{alice.username}/thermo-node"
    granted = await alice.http.get(
        "/v1/registry/token", params={"scope": f"repository:{staging}:pull,push"}
    )
    assert granted.status_code == 200, granted.text
    digest = await asyncio.to_thread(
        push_to_staging, docker_client, f"{registry}/{staging}", granted.json()["token"]
    )
    reference = f"{registry}/{staging}:1@{digest}"

    elsewhere = modelbay_push(
        alice, "--image", f"ghcr.io/{staging}@{digest}", "--name", "thermo_ref", cwd=tmp_path
    )
    assert elsewhere.returncode == 1, elsewhere.stdout
    said = " ".join((elsewhere.stdout + elsewhere.stderr).split())  # rich wraps lines
    assert f"pulls pre-built images only from its own registry {registry}" in said, said
    not_bobs = modelbay_push(bob, "--image", reference, "--name", "thermo_ref", cwd=tmp_path)
    assert not_bobs.returncode == 1, not_bobs.stdout
    said = " ".join((not_bobs.stdout + not_bobs.stderr).split())
    assert f"{staging} is not in your staging space staging/{bob.username}/" in said, said

    pushed = modelbay_push(alice, "--image", reference, "--name", "thermo_ref", cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    detail = await alice.follow(alice.username, "thermo_ref", 1)
    assert detail["status"] == "ready", describe_failure(detail)
    ref = detail["image_ref"]
    assert ref == f"{registry}/{alice.username}/thermo_ref:1", ref
    remove_local_image(docker_client, ref)
    pull(docker_client, ref, await alice.registry_token(ref))
    body = {"celsius": [0.0, 100.0], "label": "by reference"}
    async with running_model(docker_client, ref) as url:
        over_json = await call_json(url, "convert", body)
        over_protobuf = await protobuf_call(url, body)
    assert over_json == {"fahrenheit": [32.0, 212.0], "label": "by reference", "count": "2"}
    assert over_protobuf == over_json
