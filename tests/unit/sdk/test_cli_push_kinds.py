"""`modelbay push` of an ONNX file and of a pre-built image (issue 14), into a `file://` store:
the stored archive is a bundle of the right kind; missing options are one red line."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import onnx_graphs
from modelbay.bundle import read_archive_manifest
from modelbay.cli import build_app
from typer.testing import CliRunner

runner = CliRunner()
PROTO = """syntax = "proto3";
package thermo;
service Model { rpc convert (ConvertIn) returns (ConvertOut); }
message ConvertIn { repeated double celsius = 1; }
message ConvertOut { repeated double fahrenheit = 1; }
"""


def saved_image(path: Path) -> Path:
    files = {
        "manifest.json": json.dumps(
            [{"Config": "c.json", "RepoTags": ["t:1"], "Layers": ["l/layer.tar"]}]
        ).encode(),
        "c.json": b"{}",
        "l/layer.tar": b"\0" * 512,
    }
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def push(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["push", *args, "--interface-wait", "0"])
    return result.exit_code, result.output


def test_an_onnx_file_is_pushed_as_an_onnx_bundle(tmp_path: Path) -> None:
    source = onnx_graphs.save(onnx_graphs.linear_scorer(), tmp_path / "scorer.onnx")
    code, output = push(str(source), "--url", (tmp_path / "store").as_uri())
    assert code == 0, output
    assert "Pushed scorer version 1 (stored)" in output
    manifest = read_archive_manifest(tmp_path / "store" / "scorer-1.tar.gz")
    assert manifest["kind"] == "onnx"
    assert list(manifest["methods"]) == ["predict"]


def test_an_image_is_pushed_with_its_proto(tmp_path: Path) -> None:
    proto = tmp_path / "model.proto"
    proto.write_text(PROTO)
    image = saved_image(tmp_path / "image.tar")
    store = (tmp_path / "store").as_uri()
    code, output = push(
        "--image", str(image), "--proto", str(proto), "--name", "thermo", "--url", store
    )
    assert code == 0, output
    manifest = read_archive_manifest(tmp_path / "store" / "thermo-1.tar.gz")
    assert manifest["kind"] == "image"
    assert manifest["methods"]["convert"]["output_message"] == "thermo.ConvertOut"


def test_an_image_without_its_proto_or_name_is_one_red_line(tmp_path: Path) -> None:
    image = saved_image(tmp_path / "image.tar")
    code, output = push("--image", str(image), "--name", "thermo")
    assert code == 1
    assert "--image needs --proto (the methods' .proto) and --name NAME" in output
    code, output = push()
    assert code == 1
    assert "push a BUNDLE, or --image TARBALL|REFERENCE --proto FILE --name NAME" in output


DIGEST = "sha256:" + "ab" * 32


def test_an_image_reference_is_pushed_without_a_tarball(tmp_path: Path) -> None:
    """`--image` that is no file but reads as a registry reference: only the reference goes
    into the bundle (the platform checks it is in its registry and the uploader's)."""
    proto = tmp_path / "model.proto"
    proto.write_text(PROTO)
    store = (tmp_path / "store").as_uri()
    reference = f"127.0.0.1:5000/staging/alice/thermo:1@{DIGEST}"
    code, output = push(
        "--image", reference, "--proto", str(proto), "--name", "thermo", "--url", store
    )
    assert code == 0, output
    archive = tmp_path / "store" / "thermo-1.tar.gz"
    manifest = read_archive_manifest(archive)
    assert manifest["kind"] == "image"
    assert manifest["image_reference"] == reference
    with tarfile.open(archive) as tar:
        assert not [n for n in tar.getnames() if n.endswith("image.tar")]


def test_an_image_that_is_neither_a_file_nor_a_reference_is_one_red_line(tmp_path: Path) -> None:
    proto = tmp_path / "model.proto"
    proto.write_text(PROTO)
    for image in ("missing.tar", "thermo:1", "127.0.0.1:5000/staging/alice/thermo"):
        code, output = push("--image", image, "--proto", str(proto), "--name", "thermo")
        assert code == 1, output
        said = " ".join(output.split())  # rich wraps at the terminal's width
        assert f"{image} is neither a file (a `docker save` tarball) nor an image" in said
