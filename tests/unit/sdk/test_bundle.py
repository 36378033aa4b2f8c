"""Bundles: dump, manifest, deterministic archive, loader, sample check, Session and login."""

from __future__ import annotations

import io
import json
import os
import platform
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest
from modelbay.bundle import (
    ARCHIVE_MEDIA_TYPE,
    BundleError,
    dump,
    extract_archive,
    read_archive_manifest,
    write_archive,
)
from modelbay.config import ConfigError, Credentials, resolve_credentials, save_login_file
from modelbay.deps import load_script
from modelbay.model import Model
from modelbay.session import PushError, Session
from modelbay_runtime import __main__ as runtime_cli
from modelbay_runtime import loader_check
from modelbay_runtime.loader import BundleError as LoadError
from modelbay_runtime.loader import load_bundle

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def model() -> Model:
    loaded: Model = load_script(MODELS / "nested_enum.py").model
    return loaded


@pytest.fixture(scope="module")
def bundle(model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dump(
        model,
        "flowers",
        tmp_path_factory.mktemp("b") / "flowers",
        description="Iris species",
        license="MIT",
        tags=["iris", "demo"],
    )


def _copy(bundle: Path, tmp_path: Path) -> Path:
    """A fresh copy of the bundle, made through the archive (so it round-trips too)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    copy = tmp_path / "copy"
    buffer = io.BytesIO()
    write_archive(bundle, buffer)
    buffer.seek(0)
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(buffer.getvalue())
    return extract_archive(archive, copy)


def test_dump_writes_every_file_and_a_complete_manifest(bundle: Path) -> None:
    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    assert files == [
        "manifest.json",
        "model.descriptor.pb",
        "model.pkl",
        "model.proto",
        "schemas.json",
    ]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["spec"] == "1"
    assert manifest["name"] == "flowers"
    assert manifest["python"] == platform.python_version()
    assert manifest["description"] == "Iris species"
    assert manifest["license"] == "MIT"
    assert manifest["tags"] == ["iris", "demo"]
    assert [r.split("==")[0] for r in manifest["requirements"]] == ["scikit-learn"]
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    method = manifest["methods"]["identify"]
    assert method["input_message"] == "modelbay.flowers.IdentifyIn"
    assert method["output_message"] == "modelbay.flowers.Report"
    assert (method["wrapped_input"], method["wrapped_output"]) == (True, False)
    assert method["output_type"]["fields"][0]["type"]["item"]["fields"][0]["type"]["kind"] == "enum"
    [sample] = manifest["samples"]["identify"]
    assert sample["output"] == {
        "guesses": [
            {"species": "SETOSA", "confidence": 1.0},
            {"species": "VIRGINICA", "confidence": 1.0},
        ],
        "count": 2,
    }
    schemas = json.loads((bundle / "schemas.json").read_text())
    assert schemas["identify"]["input"]["type"] == "object"


def test_archive_is_deterministic_and_round_trips(bundle: Path, tmp_path: Path) -> None:
    first, second = io.BytesIO(), io.BytesIO()
    write_archive(bundle, first)
    write_archive(bundle, second)
    assert first.getvalue() == second.getvalue()
    assert ARCHIVE_MEDIA_TYPE == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(first.getvalue())) as tar:
        members = tar.getmembers()
    assert all(m.mtime == 0 and m.uid == 0 and m.mode == 0o644 for m in members)
    copy = _copy(bundle, tmp_path)
    for path in bundle.rglob("*"):
        if path.is_file():
            assert (copy / path.relative_to(bundle)).read_bytes() == path.read_bytes()
    archive = tmp_path / "b.tar.gz"
    assert read_archive_manifest(archive)["name"] == "flowers"


def test_dump_refuses_bad_names_and_non_empty_directories(model: Model, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not valid"):
        dump(model, "Iris Model", tmp_path / "x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(BundleError, match="not empty"):
        dump(model, "flowers", tmp_path / "busy")
    dump(model, "flowers", tmp_path / "busy", replace=True)
    assert not (tmp_path / "busy" / "file").exists()


def test_loaded_bundle_calls_methods_like_the_server(bundle: Path) -> None:
    loaded = load_bundle(bundle)
    method = loaded.methods["identify"]
    assert loaded.name == "flowers"
    assert loaded.proto_text == (bundle / "model.proto").read_text()
    assert "package modelbay.flowers;" in loaded.proto_text
    assert method.input_message == "modelbay.flowers.IdentifyIn"
    assert method.input_schema["type"] == "object"
    out = method.call(
        {
            "flowers": [
                {"sepal_length": 5.0, "sepal_width": 3.4, "petal_length": 1.5, "petal_width": 0.2}
            ]
        }
    )
    assert out == {"guesses": [{"species": "SETOSA", "confidence": 1.0}], "count": 1}


def test_loader_rejects_tampered_files_and_other_pythons(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "model.proto").write_text("tampered")
    with pytest.raises(LoadError, match=r"model\.proto: sha256"):
        load_bundle(copy)
    copy2 = _copy(bundle, tmp_path / "2")
    manifest = json.loads((copy2 / "manifest.json").read_text())
    manifest["python"] = "3.9.1"
    (copy2 / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LoadError, match=r"Python 3\.9\.1"):
        load_bundle(copy2)
    with pytest.raises(LoadError, match=r"manifest\.json is missing"):
        load_bundle(tmp_path)


def test_check_passes_then_reports_the_first_mismatch(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runtime_cli.main(["check", str(bundle)]) == 0
    assert "ok: 1 samples of flowers" in capsys.readouterr().out
    copy = _copy(bundle, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["samples"]["identify"][0]["output"]["guesses"][1]["species"] = "SETOSA"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert runtime_cli.main(["check", str(copy)]) == 1
    error = capsys.readouterr().err
    assert 'sample identify[0] at guesses[1].species: expected "SETOSA", got "VIRGINICA"' in error


def test_check_runs_as_the_runtime_command(bundle: Path, tmp_path: Path) -> None:
    # The real command line (`python -m modelbay_runtime check`), as the first-try check runs it.
    command = [sys.executable, "-m", "modelbay_runtime", "check"]
    passed = subprocess.run([*command, str(bundle)], capture_output=True, text=True)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("ok: 1 samples of flowers")
    copy = _copy(bundle, tmp_path)
    (copy / "model.pkl").write_bytes(b"not the pickle the manifest hashed")
    failed = subprocess.run([*command, str(copy)], capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"FAIL cannot load {copy}"), failed.stderr


def test_float_comparison_uses_a_tolerance() -> None:
    assert loader_check.first_difference({"a": [1.0]}, {"a": [1.0 + 1e-12]}, 1e-6, 1e-9) is None
    assert loader_check.first_difference({"a": [1.0]}, {"a": [1.1]}, 1e-6, 1e-9) == "a[0]"
    assert loader_check.first_difference([1, 2], [1], 1e-6, 1e-9) == ""


def test_file_url_session_stores_numbered_archives(model: Model, tmp_path: Path) -> None:
    session = Session(url=(tmp_path / "store").as_uri(), progress=False)
    first = session.push(model, "flowers")
    second = session.push(model, "team/flowers")
    assert (first.version, first.status, first.owner) == (1, "stored", None)
    assert first.status_url == (tmp_path / "store" / "flowers-1.tar.gz").as_uri()
    assert (second.owner, second.version) == ("team", 1)
    assert (tmp_path / "store" / "team" / "flowers-1.tar.gz").exists()
    again = session.push_bundle(tmp_path / "store" / "flowers-1.tar.gz")
    assert again.version == 2


class FakePlatform:
    """The gateway's push protocol (docs/sdk.md), as an httpx transport."""

    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/me":
            return httpx.Response(200, json={"username": "ada"})
        self.bodies.append(request.read())
        return self.answer


def test_http_push_streams_the_archive_to_the_owner_of_the_token(
    model: Model, tmp_path: Path
) -> None:
    accepted = {
        "owner": "ada",
        "name": "flowers",
        "version": 3,
        "status": "uploaded",
        "status_url": "/v1/models/ada/flowers/versions/3",
    }
    fake = FakePlatform(httpx.Response(202, json=accepted))
    session = Session(
        url="http://modelbay.test",
        token="secret",
        progress=False,
        transport=httpx.MockTransport(fake),
    )
    result = session.push(model, "flowers")
    assert (result.owner, result.name, result.version, result.status) == (
        "ada",
        "flowers",
        3,
        "uploaded",
    )
    assert result.status_url == "http://modelbay.test/v1/models/ada/flowers/versions/3"
    me, post = fake.requests
    assert me.headers["authorization"] == post.headers["authorization"] == "Bearer secret"
    assert post.method == "POST"
    assert post.url.path == "/v1/models/ada/flowers/versions"
    assert post.headers["content-type"] == "application/gzip"
    archive = tmp_path / "sent.tar.gz"
    archive.write_bytes(fake.bodies[0])
    assert read_archive_manifest(archive)["name"] == "flowers"


def test_http_push_raises_the_problem_title_and_detail(model: Model) -> None:
    problem = {
        "type": "about:blank",
        "title": "Invalid bundle",
        "status": 422,
        "detail": "manifest.json: requirements must be pinned",
    }
    answer = httpx.Response(422, json=problem, headers={"content-type": "application/problem+json"})
    session = Session(
        url="http://modelbay.test",
        token="t",
        progress=False,
        transport=httpx.MockTransport(FakePlatform(answer)),
    )
    with pytest.raises(PushError) as caught:
        session.push(model, "owner/flowers")
    assert (caught.value.title, caught.value.status) == ("Invalid bundle", 422)
    assert caught.value.detail == "manifest.json: requirements must be pinned"


def test_credentials_precedence_and_login_file_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("MODELBAY_URL", raising=False)
    monkeypatch.delenv("MODELBAY_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="no Modelbay URL"):
        resolve_credentials()
    path = save_login_file(Credentials("http://stored.test", "stored-token"))
    assert path == tmp_path / "cfg" / "modelbay" / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert resolve_credentials() == Credentials("http://stored.test", "stored-token")
    monkeypatch.setenv("MODELBAY_TOKEN", "env-token")
    assert resolve_credentials().token == "env-token"
    monkeypatch.setenv("MODELBAY_URL", "http://env.test/")
    monkeypatch.delenv("MODELBAY_TOKEN")
    # A stored token is only ever sent to the URL it was stored for.
    assert resolve_credentials() == Credentials("http://env.test", None)
    assert resolve_credentials("http://arg.test", "arg") == Credentials("http://arg.test", "arg")
