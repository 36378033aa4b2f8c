"""The docker-compose stack run for real: deploy/docker-compose.yml with the local override
(stand-ins built from the Debian base, since no image can be pulled here) comes up with
`up --build`, the paper's Fig. 2 script pushes the iris model through the stack's gateway, the
stack's builder builds and pushes the image to the stack's registry, and an end user pulls it
(with a pull token from the stack's gateway, the registry's realm), runs it and gets the model's
own predictions over JSON and protobuf. `down -v` at the end, whatever happened.

The stack is independent of the natively started services (its own Postgres, RabbitMQ, S3,
registry, on free ports); it shares only the host's Docker engine, which its builder drives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from e2e_client import Gateway, describe_failure, new_user
from e2e_compose import ComposeError, ComposeStack, mirror, prepare_wheelhouse
from e2e_models import FIG2_NAME, FIG2_SCRIPT, as_fig2_input, fig2_classifier, push_fig2
from e2e_runtime import call_json, call_protobuf, pull, remove_local_image, running_model
from modelbay.bundle import read_archive_manifest
from modelbay_onboarding.pip_runner import runtime_server_requirements

pytestmark = pytest.mark.slow


def fig2_requirements(work_dir: Path) -> list[str]:
    """What the resolver will download for Fig. 2: the bundle's pins (the script run against a
    file:// URL stores the bundle instead of pushing it) plus the model server's own."""
    store = work_dir / "bundles"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env["MODELBAY_URL"] = store.as_uri()
    subprocess.run(
        [sys.executable, str(FIG2_SCRIPT)], env=env, cwd=work_dir, check=True, timeout=600
    )
    (archive,) = store.rglob("*.tar.gz")
    manifest = read_archive_manifest(archive)
    return [*manifest["requirements"], *runtime_server_requirements("3.11")]


@pytest.fixture(scope="module")
def compose_stack(
    base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    work_dir = tmp_path_factory.mktemp("compose")
    prepare_wheelhouse()
    mirror(fig2_requirements(work_dir))
    stack = ComposeStack(work_dir=work_dir, base_image=base_image)
    try:
        stack.up()
        print(f"\ncompose up --build -d: {stack.up_seconds:.1f} s ({stack.project})")
        yield stack
    except ComposeError as exc:
        pytest.fail(f"the compose stack did not come up: {exc}\n{stack.logs()}", pytrace=False)
    finally:
        stack.down()


async def test_compose_stack_push_ready_pull_run_predict(
    compose_stack: ComposeStack, docker_client: docker.DockerClient
) -> None:
    started = time.monotonic()
    await compose_stack.wait_gateway_ready()
    work_dir = compose_stack.work_dir
    async with (
        Gateway(compose_stack.gateway_url, compose_stack.admin_token) as admin,
        await new_user(admin, "alice") as alice,
    ):
        await push_fig2(alice, work_dir)
        detail = await alice.follow(alice.username, FIG2_NAME, 1)
        assert detail["status"] == "ready", f"{describe_failure(detail)}\n{compose_stack.logs()}"
        ref = detail["image_ref"]
        # Named for the stack's own registry, as the host's engine reaches it.
        assert ref == f"{compose_stack.registry}/{alice.username}/{FIG2_NAME}:1", ref
        print(f"push → ready through the compose stack: {time.monotonic() - started:.1f} s")

        # The builder built on this engine: remove its copy so the pull proves the registry.
        remove_local_image(docker_client, ref)
        try:
            repo_digest = pull(docker_client, ref, await alice.registry_token(ref))
            assert repo_digest.endswith(detail["image_digest"]), repo_digest

            clf, x_test = fig2_classifier()
            expected = [int(label) for label in clf.predict(x_test)]
            request = as_fig2_input(x_test)
            async with running_model(docker_client, ref) as url:
                over_json = await call_json(url, "classify", request)
                over_protobuf = await call_protobuf(url, "classify", request)
        finally:
            remove_local_image(docker_client, ref)

    assert over_json == {"IrisType": expected}
    assert [int(label) for label in over_protobuf["IrisType"]] == expected
