"""Generate a client package and pack it as a tar.gz (one top folder, reproducible bytes)."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass

from modelbay_gateway.clients.java_client import render_java
from modelbay_gateway.clients.languages import ClientLanguage
from modelbay_gateway.clients.protoc import describe, methods_of
from modelbay_gateway.clients.python_client import render_python
from modelbay_gateway.clients.snippets import archive_name, client_snippet, readme
from modelbay_gateway.clients.target import Target, local_name
from modelbay_gateway.clients.typescript_client import render_typescript

MEDIA_TYPE = "application/gzip"

_RENDERERS = {
    ClientLanguage.PYTHON: render_python,
    ClientLanguage.TYPESCRIPT: render_typescript,
    ClientLanguage.JAVA: render_java,
}


@dataclass(frozen=True)
class GeneratedClient:
    filename: str
    content: bytes
    media_type: str = MEDIA_TYPE


def pack_tar_gz(folder: str, files: dict[str, str | bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            content = files[path]
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{folder}/{path}")
            info.size = len(data)
            info.mode = 0o755 if path.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def generate_client(
    proto_text: str, language: ClientLanguage, owner: str, name: str, version: int
) -> GeneratedClient:
    """Blocking (runs protoc): call it from a worker thread in an async route."""
    target = Target(owner, name, version)
    file = describe(proto_text)
    methods = methods_of(file)
    first = methods[0] if methods else None
    snippet = client_snippet(
        target,
        language,
        first.name if first else None,
        local_name(file, first.input_type) if first else None,
    )
    files = _RENDERERS[language](file, target, readme(target, language, snippet))
    folder = archive_name(target, language)
    return GeneratedClient(f"{folder}.tar.gz", pack_tar_gz(folder, files))
