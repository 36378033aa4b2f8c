"""The registry is part of the access rule: the real `docker` client against a real Distribution
registry behind `auth: token`, whose realm is a real gateway served on a loopback port.

The stack is the gateway tests' one (gateway + catalog + onboarding in-process on real Postgres)
with a registry token key; the registry is a private instance (tests/support/token_registry.py)
because its realm must point at this test's gateway. The image of alice's private model is
pushed as the builder pushes (its own push-scoped token, `registrytoken` to the engine) and the
catalog is told about it by the builder's event, so what the catalog records is what the
registry holds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import httpx
import pytest
import uvicorn
from gateway_services import in_process_services
from gateway_stack import ADMIN, ADMIN_TOKEN
from modelbay.cli import build_app
from modelbay_common.cosign_layout import OCI_MANIFEST, signature_tag
from modelbay_common.registry_auth import (
    PULL,
    load_certificate_public_key,
    repository_access,
    verify_registry_token,
)
from modelbay_common.signing import load_or_create_signing_key
from registry_keys import RegistryKeys, make_registry_keys
from registry_world import (
    World,
    build_tiny_image,
    docker_cli,
    docker_login,
    forget_locally,
    make_ready,
    push_as_the_builder,
)
from token_registry import TokenRegistry, free_port, running_token_registry
from typer.testing import CliRunner

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> RegistryKeys:
    return make_registry_keys(tmp_path_factory.mktemp("registry-keys"))


@pytest.fixture(scope="module")
def gateway_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory, keys: RegistryKeys, gateway_port: int
) -> Iterator[TokenRegistry]:
    realm = f"http://127.0.0.1:{gateway_port}/v1/registry/token"
    with running_token_registry(tmp_path_factory.mktemp("registry"), realm, keys) as started:
        yield started


@pytest.fixture(scope="module")
async def world(
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    keys: RegistryKeys,
    registry: TokenRegistry,
    gateway_port: int,
    archive_bytes: bytes,
    docker_client: docker.DockerClient,
) -> AsyncIterator[World]:
    blob_dir = tmp_path_factory.mktemp("blobs")
    # The platform's signing key: the gateway publishes it, the "builder" below signs with it.
    signing_dir = tmp_path_factory.mktemp("signing")
    signing_key = load_or_create_signing_key(signing_dir)
    async with in_process_services(
        module_database_url,
        blob_dir,
        gateway={"registry_token_key_file": keys.key_file, "signing_key_dir": signing_dir},
    ) as services:
        # The docker engine reaches the realm over TCP, so this gateway listens for real.
        server = uvicorn.Server(
            uvicorn.Config(
                services.apps["gateway"],
                host="127.0.0.1",
                port=gateway_port,
                lifespan="off",
                log_level="warning",
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            assert not serving.done(), "the gateway did not start"
            await asyncio.sleep(0.05)
        stack = services.stack
        minter = keys.issuer()
        images: dict[str, tuple[str, str]] = {}
        try:
            alice, bob = await stack.new_user("alice"), await stack.new_user("bob")
            for name in ("secret", "moved", "shared"):
                pushed = await stack.push(alice, "alice", name, archive_bytes)
                assert pushed.status_code == 202, pushed.text
                await stack.wait_for_version(alice, "alice", name, 1)
                reference = f"{registry.address}/alice/{name}:1"
                build_dir = tmp_path_factory.mktemp(f"image-{name}")
                await asyncio.to_thread(build_tiny_image, docker_client, build_dir, reference)
                digest = await asyncio.to_thread(
                    push_as_the_builder, docker_client, minter, reference, signing_key
                )
                await asyncio.to_thread(docker_client.images.remove, reference, force=True)
                await make_ready(stack, "alice", name, reference, digest)
                images[name] = (reference, digest)
            detail = await stack.wait_for_version(alice, "alice", "secret", 1)
            assert detail["image_digest"] == images["secret"][1]
            async with stack.client(alice) as client:
                published = await client.post(
                    "/v1/models/alice/shared/publish",
                    json={"description": "shared", "category": "regression", "license": "MIT"},
                )
            assert published.status_code == 200, published.text
            yield World(
                stack,
                registry,
                f"http://127.0.0.1:{gateway_port}",
                minter,
                keys,
                alice,
                bob,
                *images["secret"],
                *images["moved"],
                images["shared"][0],
            )
        finally:
            server.should_exit = True
            await serving
            for reference, _ in images.values():
                await asyncio.to_thread(forget_locally, docker_client, reference.rsplit(":", 1)[0])


async def test_listing_the_catalog_is_refused_without_and_with_a_users_token(
    world: World,
) -> None:
    catalog_url = f"http://{world.registry.address}/v2/_catalog"
    async with httpx.AsyncClient(timeout=30) as client:
        anonymous = await client.get(catalog_url)
        assert anonymous.status_code == 401
        assert 'scope="registry:catalog:*"' in anonymous.headers["www-authenticate"]
        issued = await client.get(
            f"{world.gateway_url}/v1/registry/token",
            params={"service": "modelbay-registry", "scope": "registry:catalog:*"},
            headers={"Authorization": f"Bearer {world.alice}"},
        )
        assert issued.status_code == 200, issued.text
        with_token = await client.get(
            catalog_url, headers={"Authorization": f"Bearer {issued.json()['token']}"}
        )
    assert with_token.status_code == 401
    assert 'error="insufficient_scope"' in with_token.headers["www-authenticate"]


async def test_an_anonymous_docker_pull_of_a_private_image_is_refused(
    world: World, tmp_path: Path
) -> None:
    code, output = await docker_cli(tmp_path / "anonymous", "pull", world.secret_image)
    assert code != 0
    assert "denied" in output or "unauthorized" in output, output


async def test_another_users_docker_pull_is_refused(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bob"
    code, output = await docker_login(config, world, "bob", world.bob)
    assert code == 0, output  # bob is a real user: the login itself succeeds
    code, output = await docker_cli(config, "pull", world.secret_image)
    assert code != 0
    assert "denied" in output or "unauthorized" in output, output


async def test_a_published_model_is_pulled_by_others_and_tokens_follow_the_rule(
    world: World, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    config = tmp_path / "bob-public"
    code, output = await docker_login(config, world, "bob", world.bob)
    assert code == 0, output
    code, output = await docker_cli(config, "pull", world.shared_image)
    assert code == 0, output
    await asyncio.to_thread(forget_locally, docker_client, world.shared_image.rsplit(":", 1)[0])

    public_key = load_certificate_public_key(world.keys.cert_file)
    scopes = [f"repository:alice/{name}:pull,push" for name in ("secret", "shared", "nobody")]
    granted: dict[str, set[str]] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for who, token in (("alice", world.alice), ("bob", world.bob), (ADMIN, ADMIN_TOKEN)):
            issued = await client.get(
                f"{world.gateway_url}/v1/registry/token",
                params={"scope": scopes},
                headers={"Authorization": f"Bearer {token}"},
            )
            claims = verify_registry_token(issued.json()["token"], public_key)
            assert claims["sub"] == who
            granted[who] = {
                f"{item['name']}:{','.join(item['actions'])}" for item in claims["access"]
            }
    assert granted["alice"] == {"alice/secret:pull", "alice/shared:pull"}
    assert granted["bob"] == {"alice/shared:pull"}
    assert granted[ADMIN] == {"alice/secret:pull", "alice/shared:pull"}


async def test_a_login_with_someone_elses_token_is_refused(world: World, tmp_path: Path) -> None:
    code, output = await docker_login(tmp_path / "mallory", world, "alice", world.bob)
    assert code != 0
    assert "unauthorized" in output.lower() or "denied" in output.lower(), output


async def test_the_owner_logs_in_to_the_realm_and_pulls(
    world: World, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    config = tmp_path / "alice"
    code, output = await docker_login(config, world, "alice", world.alice)
    assert code == 0, output
    assert "Login Succeeded" in output
    stored = json.loads((config / "config.json").read_text())
    assert world.registry.address in stored["auths"]
    code, output = await docker_cli(config, "pull", world.secret_image)
    assert code == 0, output
    repository = world.secret_image.rsplit(":", 1)[0]
    pulled = await asyncio.to_thread(docker_client.images.get, world.secret_image)
    assert f"{repository}@{world.secret_digest}" in pulled.attrs["RepoDigests"]
    await asyncio.to_thread(forget_locally, docker_client, repository)


async def test_a_users_credentials_never_push_or_delete(
    world: World, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    config = tmp_path / "alice-push"
    code, output = await docker_login(config, world, "alice", world.alice)
    assert code == 0, output
    overwrite = f"{world.registry.address}/alice/secret:2"
    await asyncio.to_thread(build_tiny_image, docker_client, tmp_path / "own", overwrite)
    try:
        code, output = await docker_cli(config, "push", overwrite)
    finally:
        await asyncio.to_thread(docker_client.images.remove, overwrite, force=True)
    assert code != 0
    assert "denied" in output or "unauthorized" in output, output

    async with httpx.AsyncClient(timeout=30) as client:
        issued = await client.get(
            f"{world.gateway_url}/v1/registry/token",
            params={"scope": "repository:alice/secret:pull,push,delete"},
            headers={"Authorization": f"Bearer {world.alice}"},
        )
        token = issued.json()["token"]
        delete = await client.delete(
            f"http://{world.registry.address}/v2/alice/secret/manifests/{world.secret_digest}",
            headers={"Authorization": f"Bearer {token}"},
        )
        still_there = await client.head(
            f"http://{world.registry.address}/v2/alice/secret/manifests/1",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.docker.distribution.manifest.v2+json",
            },
        )
    assert delete.status_code == 401
    assert still_there.status_code == 200  # the token is good for pulling, and only for that
    assert still_there.headers["docker-content-digest"] == world.secret_digest


async def test_the_token_endpoint_answers_bad_input_with_problems(world: World) -> None:
    url = f"{world.gateway_url}/v1/registry/token"
    async with httpx.AsyncClient(timeout=30) as client:
        bad_scope = await client.get(url, params={"scope": "repository:alice/secret"})
        bad_service = await client.get(url, params={"service": "someone-elses-registry"})
        bad_basic = await client.get(url, auth=("alice", "mb_not-a-token"))
        mismatched = await client.get(url, auth=("bob", world.alice))
    assert bad_scope.status_code == 400
    assert bad_scope.headers["content-type"] == PROBLEM
    assert bad_scope.json()["type"].endswith("/invalid-scope")
    assert bad_service.status_code == 400
    assert bad_service.json()["type"].endswith("/unknown-registry-service")
    for refused in (bad_basic, mismatched):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == PROBLEM
        assert refused.headers["www-authenticate"].startswith("Basic")


def _modelbay(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        build_app(), [*args, "--url", world.gateway_url, "--token", world.alice]
    )
    return result.exit_code, result.output


async def test_modelbay_pull_takes_the_recorded_digest_and_refuses_a_retagged_image(
    world: World, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    repository = world.moved_image.rsplit(":", 1)[0]
    code, output = await asyncio.to_thread(_modelbay, world, "pull", "alice/moved:1")
    assert code == 0, output
    assert world.moved_digest in output
    pulled = await asyncio.to_thread(docker_client.images.get, world.moved_image)
    assert f"{repository}@{world.moved_digest}" in pulled.attrs["RepoDigests"]
    await asyncio.to_thread(forget_locally, docker_client, repository)

    # Someone with write access to the registry moves the tag to another image.
    await asyncio.to_thread(build_tiny_image, docker_client, tmp_path / "evil", world.moved_image)
    substitute = await asyncio.to_thread(
        push_as_the_builder, docker_client, world.minter, world.moved_image
    )
    await asyncio.to_thread(forget_locally, docker_client, repository)
    assert substitute != world.moved_digest

    code, output = await asyncio.to_thread(_modelbay, world, "pull", "alice/moved:1")
    assert code == 1
    assert "not the one Modelbay built" in output
    assert substitute in output.replace("\n", "")
    assert not await asyncio.to_thread(docker_client.images.list, name=repository)


async def test_keys_are_public_and_an_unsigned_image_is_pulled_only_when_told(
    world: World, docker_client: docker.DockerClient
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        keys = await client.get(f"{world.gateway_url}/v1/keys")  # anonymous
    assert keys.status_code == 200
    assert [key["algorithm"] for key in keys.json()["keys"]] == ["ecdsa-p256-sha256"]

    # The secret image loses its signature (a registry mishap, or someone covering tracks).
    repository = world.secret_image.split("/", 1)[1].rsplit(":", 1)[0]
    token = world.minter.mint("test", [repository_access(repository, PULL, "delete")]).token
    base = f"http://{world.registry.address}/v2/{repository}/manifests"
    headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        signature = await client.head(f"{base}/{signature_tag(world.secret_digest)}")
        assert signature.status_code == 200
        digest = signature.headers["Docker-Content-Digest"]
        assert (await client.delete(f"{base}/{digest}")).status_code == 202

    code, output = await asyncio.to_thread(_modelbay, world, "pull", "alice/secret:1")
    assert code == 1
    assert "not signed" in output
    code, output = await asyncio.to_thread(
        _modelbay, world, "pull", "alice/secret:1", "--insecure-skip-verify"
    )
    assert code == 0, output
    assert "WARNING: --insecure-skip-verify: NOT verifying" in output
    await asyncio.to_thread(forget_locally, docker_client, world.secret_image.rsplit(":", 1)[0])
