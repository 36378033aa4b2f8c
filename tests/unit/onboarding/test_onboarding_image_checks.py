"""Pre-built image bundles (`"kind": "image"`) at upload: the SDK's bundle of a `docker save`
tarball and a `.proto` passes every check without samples; a tarball that is not one saved image
is refused with 422 naming `image.tar`; the SDK refuses protos it cannot serve. (The tarballs here
are made by hand in docker-save layout: loading and running real images is the builder's
integration test.)"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from modelbay.bundle import BundleError
from modelbay.prebuilt import dump_prebuilt
from modelbay_onboarding.errors import InvalidBundle
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, validate_bundle
from onboarding_bundles import archive, edit_manifest, refresh_checksums

PROTO = """syntax = "proto3";
package thermo;
service Model { rpc convert (ConvertIn) returns (ConvertOut); }
message ConvertIn { repeated double celsius = 1; map<string, int64> tags = 2; }
message ConvertOut { repeated double fahrenheit = 1; Unit unit = 2; }
enum Unit { UNIT_UNSPECIFIED = 0; FAHRENHEIT = 1; }
"""
RULES = BundleRules(
    ArchiveLimits(
        max_files=100,
        max_unpacked_bytes=1 << 30,
        max_expansion_ratio=100.0,
        expansion_ratio_floor_bytes=1 << 20,
        max_metadata_file_bytes=1 << 20,
    ),
    ("3.11",),
    require_samples=True,  # an image bundle has none and still passes: it is contract-tested
)


def saved_image(path: Path, *, images: int = 1, drop_layer: bool = False) -> Path:
    """A tar in `docker save` layout: manifest.json, a config and one layer per image."""
    files: dict[str, bytes] = {}
    entries = []
    for n in range(images):
        files[f"config{n}.json"] = b'{"architecture": "amd64"}'
        files[f"layer{n}/layer.tar"] = b"\0" * 1024
        entries.append(
            {"Config": f"config{n}.json", "RepoTags": [f"x:{n}"], "Layers": [f"layer{n}/layer.tar"]}
        )
    files["manifest.json"] = json.dumps(entries).encode()
    if drop_layer:
        del files["layer0/layer.tar"]
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def image_bundle(tmp_path: Path) -> Path:
    proto = tmp_path / "model.proto"
    proto.write_text(PROTO)
    return dump_prebuilt(saved_image(tmp_path / "image.tar"), proto, "thermo", tmp_path / "bundle")


def test_an_image_bundle_passes_without_samples(tmp_path: Path) -> None:
    bundle = image_bundle(tmp_path)
    validated = validate_bundle(archive(bundle, tmp_path / "b.tar.gz"), RULES)
    assert validated.methods == ("convert",)
    assert validated.requirements == ()
    assert validated.warnings == ()
    method = validated.manifest.methods["convert"]
    assert method.input_message == "thermo.ConvertIn"
    fields = {f["name"]: f["type"]["kind"] for f in method.input_type["fields"]}
    assert fields == {"celsius": "list", "tags": "map"}


@pytest.mark.parametrize(
    ("replacement", "reason"),
    [
        ("two images", "holds 2 images; save exactly one"),
        ("missing layer", "lacks files its manifest.json names: layer0/layer.tar"),
        ("not a tar", "is not a tar archive (docker save IMAGE -o image.tar)"),
    ],
)
def test_a_tarball_that_is_not_one_saved_image_is_refused(
    tmp_path: Path, replacement: str, reason: str
) -> None:
    bundle = image_bundle(tmp_path)
    target = bundle / "image.tar"
    if replacement == "two images":
        saved_image(target, images=2)
    elif replacement == "missing layer":
        saved_image(target, drop_layer=True)
    else:
        target.write_bytes(b"\x7fELF not a tar" * 64)
    refresh_checksums(bundle)
    with pytest.raises(InvalidBundle) as refused:
        validate_bundle(archive(bundle, tmp_path / "b.tar.gz"), RULES)
    problems = {e["field"]: e["message"] for e in refused.value.extensions["errors"]}
    assert reason in problems["image.tar"]


def test_the_sdk_refuses_a_streaming_rpc_and_a_second_service(tmp_path: Path) -> None:
    tar = saved_image(tmp_path / "image.tar")
    streaming = tmp_path / "streaming.proto"
    streaming.write_text(PROTO.replace("rpc convert (ConvertIn)", "rpc convert (stream ConvertIn)"))
    with pytest.raises(BundleError, match="streaming rpcs cannot be served over REST"):
        dump_prebuilt(tar, streaming, "thermo", tmp_path / "a")
    two = tmp_path / "two.proto"
    two.write_text(PROTO + "service Other { rpc convert (ConvertIn) returns (ConvertOut); }\n")
    with pytest.raises(BundleError, match="exactly one service"):
        dump_prebuilt(tar, two, "thermo", tmp_path / "b")


def test_the_sdk_refuses_a_file_that_is_not_a_saved_image(tmp_path: Path) -> None:
    junk = tmp_path / "image.tar"
    junk.write_bytes(b"not a tar at all")
    proto = tmp_path / "model.proto"
    proto.write_text(PROTO)
    with pytest.raises(BundleError, match="is not a `docker save` archive"):
        dump_prebuilt(junk, proto, "thermo", tmp_path / "bundle")


def test_an_image_pushed_from_any_python_takes_the_platforms_python(tmp_path: Path) -> None:
    bundle = image_bundle(tmp_path)
    edit_manifest(bundle, lambda m: m.update(python="3.12.1"))  # the SDK's, not the image's
    validated = validate_bundle(archive(bundle, tmp_path / "b.tar.gz"), RULES)
    assert validated.python_version == "3.11"  # what the resolver and the probe image use
