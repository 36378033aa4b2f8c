"""What the registry-access tests share: the world they build (users, images, a served gateway)
and the real clients they drive (the `docker` command line, the builder's push)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
from gateway_stack import Stack
from modelbay_builder.build_log import BuildLog
from modelbay_builder.image_signing import sign_image
from modelbay_builder.registry import RegistryCredentials, push_image
from modelbay_common.events import DependenciesResolved, ImageBuilt, envelope
from modelbay_common.registry_auth import RegistryTokenIssuer
from modelbay_common.signing import SigningKey
from registry_keys import RegistryKeys
from token_registry import TokenRegistry

DOCKER = shutil.which("docker") or "/usr/bin/docker"


@dataclass
class World:
    stack: Stack
    registry: TokenRegistry
    gateway_url: str
    minter: RegistryTokenIssuer
    keys: RegistryKeys
    alice: str
    bob: str
    secret_image: str  # registry/alice/secret:1, private
    secret_digest: str
    moved_image: str  # registry/alice/moved:1, re-tagged by a test
    moved_digest: str
    shared_image: str  # registry/alice/shared:1, published (public)


def build_tiny_image(client: docker.DockerClient, directory: Path, tag: str) -> None:
    """An image FROM scratch with one unique file: nothing to pull, a digest of its own."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    (directory / "marker").write_text(uuid.uuid4().hex)
    client.images.build(path=str(directory), tag=tag, rm=True)


def push_as_the_builder(
    client: docker.DockerClient,
    minter: RegistryTokenIssuer,
    reference: str,
    signing_key: SigningKey | None = None,
) -> str:
    """Push as the builder does; with `signing_key`, sign it as the builder does too."""
    repository, _, tag = reference.rpartition(":")
    credentials = RegistryCredentials(minter)
    digest = push_image(client, repository, tag, BuildLog(), credentials)
    if signing_key is not None:
        registry, _, path = repository.partition("/")
        owner, _, name = path.partition("/")
        sign_image(
            registry=registry,
            owner=owner,
            name=name,
            tag=tag,
            digest=digest,
            key=signing_key,
            credentials=credentials,
            insecure=True,
            creator="registry-access test",
        )
    return digest


async def make_ready(stack: Stack, owner: str, name: str, image_ref: str, digest: str) -> None:
    sha = digest.removeprefix("sha256:")
    for event in (
        DependenciesResolved(
            owner=owner,
            name=name,
            version=1,
            bundle_uri=f"bundles/sha256/{sha}.tar.gz",
            bundle_sha256=sha,
            python_version="3.11",
            lock=(),
            lock_hash=sha,
            wheelhouse_uri=f"wheelhouses/{sha}.tar",
        ),
        ImageBuilt(
            owner=owner,
            name=name,
            version=1,
            image_ref=image_ref,
            image_digest=digest,
            image_size=1,
            build_seconds=1.0,
            validation_seconds=1.0,
        ),
    ):
        await stack.bus.publish(envelope(event, source="/modelbay/tests"))
        await stack.bus.drain()


def forget_locally(client: docker.DockerClient, repository: str) -> None:
    for image in client.images.list(name=repository):
        client.images.remove(image.id, force=True)


async def docker_cli(config_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """The real docker command line with a Docker configuration of its own (one user each)."""
    await asyncio.to_thread(config_dir.mkdir, parents=True, exist_ok=True)
    completed = await asyncio.to_thread(
        subprocess.run,
        [DOCKER, "--config", str(config_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


async def docker_login(
    config_dir: Path, world: World, username: str, token: str
) -> tuple[int, str]:
    return await docker_cli(
        config_dir,
        "login",
        world.registry.address,
        "--username",
        username,
        "--password-stdin",
        stdin=token,
    )
