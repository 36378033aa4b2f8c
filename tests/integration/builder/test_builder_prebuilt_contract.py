"""The contract test of pre-built images on the real Docker engine, with the Node.js example
(`examples/prebuilt-node`, built FROM the Debian base): it passes its own proto over JSON and
protobuf in the locked-down sandbox; a proto promising a method the server lacks is refused
naming that method; the loaded image is labelled and tagged; its Debian packages are listed.
The same image pushed to a staging repository of the real token-auth registry is pulled by
reference with the builder's own token (by digest), labelled and passes the same contract; a
reference the registry does not have fails the build naming it."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from modelbay.prebuilt import dump_prebuilt
from modelbay_builder.build_log import BuildLog
from modelbay_builder.compare import Tolerance
from modelbay_builder.errors import BuildStepFailed, ImageValidationFailed
from modelbay_builder.prebuilt import ContractReport, contract_test_image
from modelbay_builder.prebuilt_source import load_prebuilt
from modelbay_builder.registry import RegistryCredentials, push_image
from modelbay_builder.validation import ValidationLimits
from modelbay_common.registry_auth import RegistryTokenIssuer

# Builds the example image (cached layers after the first time): `slow`, still in make test.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "prebuilt-node"
BASE = "modelbay/python:3.11-bookworm"
LIMITS = ValidationLimits(
    memory="256m", cpus=1.0, ready_timeout=60, sample_timeout=20, tolerance=Tolerance(1e-6, 1e-9)
)


@pytest.fixture(scope="module")
def example_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`examples/prebuilt-node/build.sh`: the image (cached layers after the first build) saved."""
    out = tmp_path_factory.mktemp("prebuilt") / "thermo-node.tar"
    subprocess.run(["bash", str(EXAMPLE / "build.sh"), str(out)], check=True, timeout=600)
    return out


@pytest.fixture
def loaded(docker_client: docker.DockerClient, example_tar: Path, tmp_path: Path) -> Iterator[str]:
    tag = f"127.0.0.1:5000/prebuilt-test/thermo:{uuid.uuid4().hex[:8]}"
    bundle_root = tmp_path / "tarball-bundle"
    bundle_root.mkdir()
    (bundle_root / "image.tar").symlink_to(example_tar)
    image_id = load_prebuilt(
        docker_client,
        bundle_root,
        {"kind": "image"},
        credentials=RegistryCredentials(None),
        tag=tag,
        labels={"dev.modelbay.name": "thermo"},
        log=BuildLog(),
        timeout=300,
    )
    yield image_id
    docker_client.images.remove(tag, force=True)


def bundle_of(example_tar: Path, proto: Path, tmp_path: Path) -> tuple[dict[str, object], bytes]:
    bundle = dump_prebuilt(example_tar, proto, "thermo", tmp_path / "bundle")
    manifest = json.loads((bundle / "manifest.json").read_text())
    return manifest, (bundle / "model.descriptor.pb").read_bytes()


def test_the_node_example_keeps_the_contract(
    docker_client: docker.DockerClient, example_tar: Path, loaded: str, tmp_path: Path
) -> None:
    manifest, descriptor_set = bundle_of(example_tar, EXAMPLE / "model.proto", tmp_path)
    report = contract_test_image(
        docker_client,
        loaded,
        manifest,
        LIMITS,
        label="prebuilt-test",
        descriptor_set=descriptor_set,
        probe_image=BASE,
    )
    assert isinstance(report, ContractReport)
    assert report.samples_checked == 1
    names = {p["name"] for p in report.debian_packages}
    assert {"nodejs", "python3"} <= names  # read from dpkg's status file, nothing run
    labels = docker_client.images.get(loaded).labels
    assert labels["dev.modelbay.name"] == "thermo"


def test_a_method_the_server_lacks_is_refused_naming_it(
    docker_client: docker.DockerClient, example_tar: Path, loaded: str, tmp_path: Path
) -> None:
    promised = tmp_path / "model.proto"
    promised.write_text(
        (EXAMPLE / "model.proto")
        .read_text()
        .replace(
            "rpc convert (ConvertIn) returns (ConvertOut);",
            "rpc convert (ConvertIn) returns (ConvertOut);\n"
            "  rpc explode (ConvertIn) returns (ConvertOut);",
        )
    )
    manifest, descriptor_set = bundle_of(example_tar, promised, tmp_path)
    with pytest.raises(ImageValidationFailed) as failure:
        contract_test_image(
            docker_client,
            loaded,
            manifest,
            LIMITS,
            label="prebuilt-test",
            descriptor_set=descriptor_set,
            probe_image=BASE,
        )
    assert failure.value.method == "explode"
    assert failure.value.reason == "method 'explode': POST with a JSON body answered 404"
    assert "no method at /model/methods/explode" in str(failure.value.actual)


def test_a_server_that_answers_the_wrong_message_is_refused(
    docker_client: docker.DockerClient, example_tar: Path, loaded: str, tmp_path: Path
) -> None:
    # The proto promises a reply whose field 1 is a string: the server's JSON has a list there.
    wrong = tmp_path / "model.proto"
    wrong.write_text(
        (EXAMPLE / "model.proto")
        .read_text()
        .replace("repeated double fahrenheit = 1;", "string fahrenheit = 1;")
    )
    manifest, descriptor_set = bundle_of(example_tar, wrong, tmp_path)
    with pytest.raises(ImageValidationFailed) as failure:
        contract_test_image(
            docker_client,
            loaded,
            manifest,
            LIMITS,
            label="prebuilt-test",
            descriptor_set=descriptor_set,
            probe_image=BASE,
        )
    assert failure.value.method == "convert"
    assert "the JSON answer is not a thermo.ConvertOut" in failure.value.reason


def test_an_image_pushed_to_a_staging_repository_is_pulled_by_reference(
    docker_client: docker.DockerClient,
    registry: str,
    registry_tokens: RegistryTokenIssuer | None,
    example_tar: Path,
    loaded: str,
    tmp_path: Path,
) -> None:
    """What the builder does with `image_reference` (docs/prebuilt-images.md, "By reference"):
    the staging repository is pushed here as the contributor would (`docker push`), then the
    labelled image comes from the registry alone (the local copy is removed first)."""
    credentials = RegistryCredentials(registry_tokens)
    user = f"prebuilt-{uuid.uuid4().hex[:8]}"
    staging = f"{registry}/staging/{user}/thermo"
    docker_client.images.get(loaded).tag(staging, "1")
    digest = push_image(docker_client, staging, "1", BuildLog(), credentials)
    docker_client.images.remove(f"{staging}:1", force=True)
    tag = f"{registry}/prebuilt-test/thermo:{uuid.uuid4().hex[:8]}"
    log = BuildLog()
    try:
        image_id = load_prebuilt(
            docker_client,
            tmp_path,  # no image.tar: the manifest names the image
            {"kind": "image", "image_reference": f"{staging}:1@{digest}"},
            credentials=credentials,
            tag=tag,
            labels={"dev.modelbay.name": "thermo"},
            log=log,
            timeout=300,
        )
        assert f"pulling the pushed image {staging}@{digest}" in log.tail(20)
        manifest, descriptor_set = bundle_of(example_tar, EXAMPLE / "model.proto", tmp_path)
        report = contract_test_image(
            docker_client,
            image_id,
            manifest,
            LIMITS,
            label="prebuilt-test",
            descriptor_set=descriptor_set,
            probe_image=BASE,
        )
        assert report.samples_checked == 1
        assert docker_client.images.get(image_id).labels["dev.modelbay.name"] == "thermo"
    finally:
        docker_client.images.remove(tag, force=True)
        docker_client.images.remove(f"{staging}@{digest}", force=True)

    with pytest.raises(BuildStepFailed) as missing:
        load_prebuilt(
            docker_client,
            tmp_path,
            {"kind": "image", "image_reference": f"{staging}:never-pushed"},
            credentials=credentials,
            tag=tag,
            labels={},
            log=BuildLog(),
            timeout=300,
        )
    assert f"the pushed image {staging}:never-pushed could not be pulled" in str(missing.value)
