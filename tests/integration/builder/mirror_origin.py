"""The origin side of a mirror for the builder's integration tests: a real token registry with a
small image pushed and signed in it, and a stand-in for the origin's gateway.

The stand-in answers the two routes of the origin's `/v1` a mirror calls, with the origin's
real registry key: `GET /v1/registry/token` (a pull token for the peer token, 401 otherwise)
and artifact downloads. The real gateway answers them in the two-instance e2e test
(tests/e2e/test_federation.py); here the builder's part is tested on its own, quickly.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from modelbay_common.registry_auth import PULL, PUSH, RegistryTokenIssuer, repository_access

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(text: str) -> tuple[bytes, bytes]:
    """(gzipped tar, uncompressed tar) of one file holding `text`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), raw.getvalue()


def push_small_image(
    registry: str, repository: str, tag: str, tokens: RegistryTokenIssuer, text: str
) -> str:
    """A one-layer image pushed with plain distribution calls; its manifest digest."""
    layer, uncompressed = _layer(text)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [_digest(uncompressed)]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": _digest(config)},
            "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer), "digest": _digest(layer)}],
        }
    ).encode()
    token = tokens.mint("test", [repository_access(repository, PULL, PUSH)]).token
    base = f"http://{registry}/v2/{repository}"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for blob in (config, layer):
            started = client.post(f"{base}/blobs/uploads/")
            assert started.status_code == 202, started.text
            location = urljoin(f"{base}/", started.headers["Location"])
            separator = "&" if "?" in location else "?"
            done = client.put(f"{location}{separator}digest={_digest(blob)}", content=blob)
            assert done.status_code == 201, done.text
        put = client.put(
            f"{base}/manifests/{tag}", content=manifest, headers={"Content-Type": DOCKER_MANIFEST}
        )
        assert put.status_code == 201, put.text
    return _digest(manifest)


def copy_tag(
    registry: str, repository: str, source: str, tag: str, tokens: RegistryTokenIssuer
) -> None:
    """Put the manifest at `source` (tag or digest) under `tag` too: a re-tag on the origin."""
    token = tokens.mint("test", [repository_access(repository, PULL, PUSH)]).token
    base = f"http://{registry}/v2/{repository}"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        got = client.get(f"{base}/manifests/{source}", headers={"Accept": DOCKER_MANIFEST})
        assert got.status_code == 200, got.text
        put = client.put(
            f"{base}/manifests/{tag}",
            content=got.content,
            headers={"Content-Type": got.headers["Content-Type"]},
        )
        assert put.status_code == 201, put.text


@dataclass
class OriginGateway:
    """What the stand-in serves: the peer token it accepts and the files under /v1/files/."""

    url: str
    peer_token: str
    files: dict[str, bytes] = field(default_factory=dict)

    def file_url(self, name: str) -> str:
        return f"{self.url}/v1/files/{name}"


@contextlib.contextmanager
def origin_gateway(tokens: RegistryTokenIssuer, peer_token: str) -> Iterator[OriginGateway]:
    """Serve `/v1/registry/token` and `/v1/files/<name>` on a free loopback port."""
    state = OriginGateway(url="", peer_token=peer_token)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            return

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {state.peer_token}":
                self._send(401, b'{"title": "unauthenticated"}', "application/problem+json")
                return
            parts = urlsplit(self.path)
            if parts.path == "/v1/registry/token":
                scope = parse_qs(parts.query)["scope"][0]
                repository = scope.split(":")[1]
                minted = tokens.mint("peer", [repository_access(repository, PULL)])
                body = json.dumps({"token": minted.token, "access_token": minted.token})
                self._send(200, body.encode(), "application/json")
                return
            name = parts.path.removeprefix("/v1/files/")
            if name in state.files:
                self._send(200, state.files[name], "application/octet-stream")
            else:
                self._send(404, b'{"title": "not found"}', "application/problem+json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
