"""Docker engine + OCI registry, the way the builder uses them.

A tiny image is built FROM the base image with a wheel installed offline (`pip install --no-index`
into a venv, since the base python is PEP 668 managed, and with the build's network switched off
to prove nothing is fetched), pushed to the registry, removed locally, pulled back by tag, and
run. Finally the manifest is deleted through the registry API, which also proves deletes are on.
The registry is behind token auth (docs/trust.md): every call carries a token minted with the
platform's key for the test's own repository, as the builder mints its own.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import ImageNotFound
from modelbay_common.registry_auth import RegistryTokenIssuer, repository_access

pytestmark = pytest.mark.slow

DIST = "modelbay_hello"
VERSION = "1.0.0"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)

DOCKERFILE = """\
FROM {base_image}
COPY wheels/ /wheels/
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-index --find-links /wheels --disable-pip-version-check \\
    {dist}=={version}
ENV PATH=/opt/venv/bin:$PATH
CMD ["modelbay-hello"]
"""

MODULE_SOURCE = """\
import sys


def main() -> None:
    version = f"{{sys.version_info[0]}}.{{sys.version_info[1]}}"
    print(f"hello {token} from python {{version}} in {{sys.prefix}}")
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(directory: Path, token: str) -> Path:
    """Write a pure-python wheel by hand (zip + dist-info), so the test needs no build backend
    and no network. It has a console script, which shows the venv's pip really installed it."""
    dist_info = f"{DIST}-{VERSION}.dist-info"
    files = {
        f"{DIST}/__init__.py": MODULE_SOURCE.format(token=token).encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n"
            "Summary: Modelbay integration-test wheel\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: modelbay-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{dist_info}/entry_points.txt": (
            f"[console_scripts]\nmodelbay-hello = {DIST}:main\n"
        ).encode(),
    }
    record = [_record_line(name, data) for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{DIST}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def write_build_context(directory: Path, base_image: str, token: str) -> Path:
    (directory / "wheels").mkdir(parents=True)
    build_wheel(directory / "wheels", token)
    dockerfile = DOCKERFILE.format(base_image=base_image, dist=DIST, version=VERSION)
    (directory / "Dockerfile").write_text(dockerfile)
    return directory


@dataclass(frozen=True)
class RegistryAuth:
    """Tokens for one test repository (pull, push, delete); nothing for an open registry."""

    tokens: RegistryTokenIssuer | None
    name: str

    def docker(self) -> dict[str, str] | None:
        if self.tokens is None:
            return None
        access = [repository_access(self.name, "pull", "push", "delete")]
        return self.tokens.mint("tests", access).docker_auth_config()

    def headers(self) -> dict[str, str]:
        config = self.docker()
        return {"Authorization": f"Bearer {config['registrytoken']}"} if config else {}


def push(client: docker.DockerClient, repository: str, tag: str, auth: RegistryAuth) -> str:
    """Push and return the manifest digest the registry reported."""
    digest = ""
    for line in client.images.push(
        repository, tag=tag, stream=True, decode=True, auth_config=auth.docker()
    ):
        assert "error" not in line, f"push failed: {line}"
        digest = line.get("aux", {}).get("Digest", digest)
    assert digest.startswith("sha256:"), "the registry reported no manifest digest"
    return digest


def registry_request(
    url: str, auth: RegistryAuth, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": MANIFEST_TYPES, **auth.headers()}
    request = urllib.request.Request(url, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def build(client: docker.DockerClient, context: Path, reference: str) -> Any:
    """Build with the network off (the wheel must come from the context) and no leftover
    intermediate containers."""
    image, _logs = client.images.build(
        path=str(context), tag=reference, network_mode="none", rm=True, forcerm=True
    )
    return image


def delete_from_registry(registry: str, name: str, tag: str, auth: RegistryAuth) -> None:
    try:
        _status, headers, _body = registry_request(
            f"http://{registry}/v2/{name}/manifests/{tag}", auth, method="HEAD"
        )
    except urllib.error.HTTPError as missing:
        if missing.code == 404:  # the test deleted it already
            return
        raise
    digest = headers["Docker-Content-Digest"]
    registry_request(f"http://{registry}/v2/{name}/manifests/{digest}", auth, method="DELETE")


@pytest.fixture
def image_auth(
    registry: str,
    docker_client: docker.DockerClient,
    registry_tokens: RegistryTokenIssuer | None,
) -> Iterator[RegistryAuth]:
    """A repository of its own per test (engineers share the registry and the engine) and its
    tokens; the manifest and the local image are removed afterwards."""
    name = f"modelbay-tests/hello-{uuid.uuid4().hex[:10]}"
    auth = RegistryAuth(registry_tokens, name)
    yield auth
    delete_from_registry(registry, name, VERSION, auth)
    # By id, not by tag: after a push the image is also referenced by its repo digest, and
    # removing only the tag would leave it behind as a dangling <none> image.
    with contextlib.suppress(ImageNotFound):
        image = docker_client.images.get(f"{registry}/{name}:{VERSION}")
        docker_client.images.remove(image.id, force=True)


def test_image_from_base_with_offline_wheel_survives_push_and_pull(
    docker_client: docker.DockerClient,
    base_image: str,
    registry: str,
    image_auth: RegistryAuth,
    tmp_path: Path,
) -> None:
    repository, tag = f"{registry}/{image_auth.name}", VERSION
    reference = f"{repository}:{tag}"
    token = uuid.uuid4().hex
    context = write_build_context(tmp_path / "context", base_image, token)

    built = build(docker_client, context, reference)
    pushed_digest = push(docker_client, repository, tag, image_auth)

    docker_client.images.remove(reference, force=True)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(reference)

    pulled = docker_client.images.pull(repository, tag=tag, auth_config=image_auth.docker())
    assert pulled.id == built.id, "the pulled image is not the one that was built"
    assert f"{repository}@{pushed_digest}" in pulled.attrs["RepoDigests"]

    output: Any = docker_client.containers.run(reference, remove=True, network_disabled=True)
    assert output.decode().strip() == f"hello {token} from python 3.11 in /opt/venv"


def test_registry_lists_and_deletes_a_pushed_manifest(
    docker_client: docker.DockerClient,
    base_image: str,
    registry: str,
    image_auth: RegistryAuth,
    tmp_path: Path,
) -> None:
    name, tag = image_auth.name, VERSION
    repository = f"{registry}/{name}"
    context = write_build_context(tmp_path / "context", base_image, uuid.uuid4().hex)
    build(docker_client, context, f"{repository}:{tag}")
    pushed_digest = push(docker_client, repository, tag, image_auth)

    _status, _headers, body = registry_request(f"http://{registry}/v2/{name}/tags/list", image_auth)
    assert json.loads(body) == {"name": name, "tags": [tag]}

    _status, headers, _body = registry_request(
        f"http://{registry}/v2/{name}/manifests/{tag}", image_auth, method="HEAD"
    )
    assert headers["Docker-Content-Digest"] == pushed_digest

    status, _headers, _body = registry_request(
        f"http://{registry}/v2/{name}/manifests/{pushed_digest}", image_auth, method="DELETE"
    )
    assert status == 202
    with pytest.raises(urllib.error.HTTPError) as gone:
        registry_request(f"http://{registry}/v2/{name}/manifests/{tag}", image_auth, method="HEAD")
    assert gone.value.code == 404
