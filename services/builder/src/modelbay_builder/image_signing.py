"""Signing a pushed image: a cosign-layout signature beside it in the registry.

Runs after validation passed and the push reported the manifest digest: the builder signs
`registry/owner/name:version` → digest (a simple-signing payload, `modelbay_common.signing`)
and pushes it under the `sha256-<hex>.sig` tag (`modelbay_common.cosign_layout`) through the
registry's HTTP API with its own push token. A retried build re-signs (the tag is overwritten
with an equivalent signature), so signing is idempotent like the push.
"""

from __future__ import annotations

import base64
from urllib.parse import urljoin

import httpx
from modelbay_common.cosign_layout import OCI_MANIFEST, signature_artifact, signature_tag
from modelbay_common.registry_auth import PULL, PUSH
from modelbay_common.signing import SigningKey, simple_signing_payload

from modelbay_builder.errors import BuildStepFailed
from modelbay_builder.registry import RegistryCredentials

_TIMEOUT_SECONDS = 30


def sign_image(
    *,
    registry: str,
    owner: str,
    name: str,
    tag: str,
    digest: str,
    key: SigningKey,
    credentials: RegistryCredentials,
    insecure: bool,
    creator: str,
) -> str:
    """Sign and push; the signature tag written (`sha256-<hex>.sig`)."""
    repository = f"{owner}/{name}"
    payload = simple_signing_payload(f"{registry}/{repository}:{tag}", digest, creator)
    signature = base64.b64encode(key.sign(payload)).decode("ascii")
    artifact = signature_artifact([(payload, signature)])
    config = credentials.auth_config(repository, PULL, PUSH)
    headers = {"Authorization": f"Bearer {config['registrytoken']}"} if config else {}
    base = f"{'http' if insecure else 'https'}://{registry}/v2/{repository}"
    tag_name = signature_tag(digest)
    try:
        with httpx.Client(headers=headers, timeout=_TIMEOUT_SECONDS) as client:
            for blob_digest, content in artifact.blobs.items():
                _upload_blob(client, base, blob_digest, content)
            response = client.put(
                f"{base}/manifests/{tag_name}",
                content=artifact.manifest,
                headers={"Content-Type": OCI_MANIFEST},
            )
            _expect(response, "pushing the signature manifest")
    except httpx.HTTPError as exc:
        raise BuildStepFailed(f"signing {repository}:{tag} failed: {exc}") from exc
    return tag_name


def _upload_blob(client: httpx.Client, base: str, digest: str, content: bytes) -> None:
    if client.head(f"{base}/blobs/{digest}").status_code == 200:
        return
    started = client.post(f"{base}/blobs/uploads/")
    _expect(started, "starting a blob upload")
    location = urljoin(f"{base}/", started.headers["Location"])
    separator = "&" if "?" in location else "?"
    finished = client.put(
        f"{location}{separator}digest={digest}",
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )
    _expect(finished, "uploading a signature blob")


def _expect(response: httpx.Response, what: str) -> None:
    if response.status_code not in (200, 201, 202):
        raise BuildStepFailed(
            f"{what} failed: the registry answered HTTP {response.status_code}: "
            f"{response.text[:300]}"
        )
