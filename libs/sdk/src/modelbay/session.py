"""`Session`: push models to a Modelbay platform (docs/sdk.md), or to a directory.

    session = Session()                      # MODELBAY_URL / MODELBAY_TOKEN or `modelbay login`
    session.push(iris_model, "iris_model")   # → PushResult(owner, name, version, status, ...)
    session.push(solution, "fig5")           # a `Solution`: its document, checked by the platform

HTTP: `POST {url}/v1/models/{owner}/{name}/versions`, body = the bundle archive streamed with
a progress bar, `Content-Type: application/gzip`, `Authorization: Bearer <token>`. The owner is
the `owner/` prefix of the name, else `GET {url}/v1/me` → `{"username"}`.
`file:///some/dir` URLs store the archive as `<dir>[/<owner>]/<name>-<version>.tar.gz` instead
(offline and air-gapped use, tests). A `Solution` goes as its JSON document to
`POST {url}/v1/solutions/{owner}/{name}/versions` (docs/solutions.md).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)

from modelbay.bundle import (
    ARCHIVE_MEDIA_TYPE,
    ARCHIVE_SUFFIX,
    archive_to_file,
    check_name,
    dump,
    read_archive_manifest,
)
from modelbay.config import TOKEN_ENV, resolve_credentials
from modelbay.errors import ApiError, raise_for_problem
from modelbay.model import Model
from modelbay.push_trace import push_span
from modelbay.solution import Solution

_CHUNK = 1 << 16


class PushError(ApiError):
    """The platform refused the push (its problem+json title and detail) or is unreachable."""


@dataclass(frozen=True)
class PushResult:
    owner: str | None
    name: str
    version: int
    status: str  # "uploaded" (then resolving, building, ready | failed) or "stored" (file://)
    status_url: str


class Session:
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        progress: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`url`/`token` fall back to MODELBAY_URL/MODELBAY_TOKEN, then `modelbay login`'s
        file. `transport` replaces httpx's network transport (tests, proxies)."""
        credentials = resolve_credentials(url, token)
        self.url = credentials.url
        self.token = credentials.token
        self.progress = progress
        self.transport = transport

    def dump(self, model: Model, name: str, path: str | Path, **options: Any) -> Path:
        """Write the bundle directory, exactly like `modelbay.dump`."""
        return dump(model, name, path, **options)

    def push(self, model: Model | Solution, name: str, **dump_options: Any) -> PushResult:
        """Bundle `model` (options as for `dump`) and upload it as `name` or `owner/name`; a
        `Solution` is pushed as its document (no dump options)."""
        if isinstance(model, Solution):
            if dump_options:
                raise TypeError(f"a Solution takes no dump options ({', '.join(dump_options)})")
            return self.push_solution(model, name)
        owner, model_name = split_name(name)
        with tempfile.TemporaryDirectory(prefix="modelbay-push-") as work:
            bundle_dir = dump(model, model_name, Path(work) / "bundle", **dump_options)
            archive = archive_to_file(bundle_dir, Path(work) / f"{model_name}{ARCHIVE_SUFFIX}")
            return self._upload(archive, owner, model_name)

    def push_bundle(self, path: str | Path, name: str | None = None) -> PushResult:
        """Upload an existing bundle directory or archive (`modelbay push`)."""
        source = Path(path)
        with tempfile.TemporaryDirectory(prefix="modelbay-push-") as work:
            if source.is_dir():
                archive = archive_to_file(source, Path(work) / f"bundle{ARCHIVE_SUFFIX}")
            else:
                archive = source
            owner, model_name = split_name(name or str(read_archive_manifest(archive)["name"]))
            return self._upload(archive, owner, model_name)

    def push_solution(self, solution: Solution, name: str) -> PushResult:
        """Send the solution's document; the platform checks every node and connection, then
        builds the solution's orchestrator image like a model's (status as for a model)."""
        owner, solution_name = split_name(name)
        document = solution.to_document()  # structural mistakes are found before any request
        if self.url.startswith("file:"):
            raise PushError(
                f"{self.url} is a directory: a solution is checked against its nodes by a "
                "platform; push it to one (MODELBAY_URL)"
            )
        with self._client() as client:
            owner = owner or _whoami(client)
            with push_span(owner, solution_name, "solution") as trace_headers:
                try:
                    response = client.post(
                        f"/v1/solutions/{owner}/{solution_name}/versions",
                        json=document,
                        headers=trace_headers,
                    )
                except httpx.HTTPError as exc:
                    raise PushError(f"cannot reach {self.url}", str(exc)) from exc
        return _push_result(response, self.url)

    def version(self, owner: str, name: str, version: int) -> dict[str, Any] | None:
        """`GET /v1/models/{owner}/{name}/versions/{version}`: the version as the platform
        records it, or None while it is not recorded (or not visible to this token)."""
        with self._client() as client:
            try:
                response = client.get(f"/v1/models/{owner}/{name}/versions/{version}")
            except httpx.HTTPError as exc:
                raise PushError(f"cannot reach {self.url}", str(exc)) from exc
        if response.status_code == 404:
            return None
        raise_for_problem(response, PushError)
        return dict(response.json())

    def _upload(self, archive: Path, owner: str | None, name: str) -> PushResult:
        if self.url.startswith("file:"):
            return _store_in_directory(_directory_of(self.url), archive, owner, name)
        with self._client() as client:
            owner = owner or _whoami(client)
            response = self._post_archive(client, archive, owner, name)
        return _push_result(response, self.url)

    def _client(self) -> httpx.Client:
        if not self.token:
            raise PushError(f"no token for {self.url}: set {TOKEN_ENV} or run `modelbay login`")
        headers = {"Authorization": f"Bearer {self.token}"}
        # httpx timeouts bound each network operation, not the whole upload: a big archive may
        # take long, one chunk may not.
        return httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(60.0),
            transport=self.transport,
        )

    def _post_archive(
        self, client: httpx.Client, archive: Path, owner: str, name: str
    ) -> httpx.Response:
        size = archive.stat().st_size
        columns = (
            TextColumn(f"pushing {owner}/{name}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
        )
        with Progress(*columns, disable=not self.progress, transient=True) as progress:
            task = progress.add_task("push", total=size)
            body = _read_chunks(archive, lambda n: progress.advance(task, n))
            with push_span(owner, name) as trace_headers:
                try:
                    return client.post(
                        f"/v1/models/{owner}/{name}/versions",
                        content=body,
                        headers={
                            "Content-Type": ARCHIVE_MEDIA_TYPE,
                            "Content-Length": str(size),
                            **trace_headers,
                        },
                    )
                except httpx.HTTPError as exc:
                    raise PushError(f"cannot reach {self.url}", str(exc)) from exc


def split_name(name: str) -> tuple[str | None, str]:
    """`owner/name` → (owner, name); `name` → (None, name). Both parts are checked."""
    owner, _, model_name = name.rpartition("/")
    if owner:
        check_name(owner)
    return (owner or None), check_name(model_name)


def _read_chunks(path: Path, advance: Any) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            advance(len(chunk))
            yield chunk


def _whoami(client: httpx.Client) -> str:
    try:
        response = client.get("/v1/me")
    except httpx.HTTPError as exc:
        raise PushError(f"cannot reach {client.base_url}", str(exc)) from exc
    raise_for_problem(response, PushError)
    username = response.json().get("username")
    if not isinstance(username, str) or not username:
        raise PushError("GET /v1/me did not return a username")
    return username


def _push_result(response: httpx.Response, base_url: str) -> PushResult:
    raise_for_problem(response, PushError)
    body = response.json()
    status_url = str(body.get("status_url", ""))
    if status_url.startswith("/"):
        status_url = base_url + status_url
    return PushResult(
        owner=body.get("owner"),
        name=str(body["name"]),
        version=int(body["version"]),
        status=str(body.get("status", "uploaded")),
        status_url=status_url,
    )


def _directory_of(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise PushError(f"{url}: only local file:// URLs are supported")
    return Path(unquote(parts.path))


def _store_in_directory(directory: Path, archive: Path, owner: str | None, name: str) -> PushResult:
    target_dir = directory / owner if owner else directory
    target_dir.mkdir(parents=True, exist_ok=True)
    version = 1 + max(_stored_versions(target_dir, name), default=0)
    target = target_dir / f"{name}-{version}{ARCHIVE_SUFFIX}"
    shutil.copyfile(archive, target)
    return PushResult(owner, name, version, "stored", target.resolve().as_uri())


def _stored_versions(directory: Path, name: str) -> Sequence[int]:
    pattern = re.compile(rf"^{re.escape(name)}-(\d+){re.escape(ARCHIVE_SUFFIX)}$")
    return [int(m.group(1)) for p in directory.iterdir() if (m := pattern.match(p.name))]
