"""The system-package layer and the lean venv step of the generated Dockerfile, the `.deb`
files in the context, and the Debian packages in the SBOM (docs/system-packages.md)."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from modelbay_builder.context import (
    PIP_INSTALL_MARKER,
    VENV_COPY_MARKER,
    ContextInputs,
    render_dockerfile,
    write_context,
)
from modelbay_builder.records import BuildRequest
from modelbay_builder.sbom import build_sbom, deb_purl
from modelbay_common.events.pipeline import DependenciesResolved, SystemPackage

BASE = "modelbay/python:3.11-bookworm"
WHEEL = "modelbay_runtime-0.1.0-py3-none-any.whl"


def instructions(dockerfile: str) -> list[str]:
    joined = dockerfile.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


def test_without_system_packages_the_image_starts_from_the_base_as_before() -> None:
    lines = instructions(render_dockerfile(BASE, WHEEL))
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms == [f"FROM {BASE} AS dependencies", f"FROM {BASE} AS runtime", f"FROM {BASE}"]
    assert not any("system-packages" in line for line in lines)


def test_system_packages_are_a_layer_between_base_and_venv() -> None:
    lines = instructions(render_dockerfile(BASE, WHEEL, system_packages=True))
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms == [
        f"FROM {BASE} AS system-packages",
        "FROM system-packages AS dependencies",
        f"FROM {BASE} AS runtime",
        "FROM system-packages",
    ]
    install = next(line for line in lines if "dpkg -i" in line)
    # only what the base lacks at that version; the copied .deb files are removed in the step
    assert "dpkg-query -W -f '${Version}'" in install
    assert "rm -rf /tmp/system-packages" in install
    assert lines.index(install) < next(
        i for i, line in enumerate(lines) if PIP_INSTALL_MARKER in line
    )
    assert VENV_COPY_MARKER in lines


def test_the_venv_step_drops_what_a_served_model_never_loads() -> None:
    lines = instructions(render_dockerfile(BASE, WHEEL))
    install = next(line for line in lines if PIP_INSTALL_MARKER in line)
    assert "pip uninstall -y -q pip" in install
    assert "-name tests" in install
    assert "-name '*.h'" in install
    # setuptools stays when the lock pins it (pkg_resources users)
    assert 'grep -qi "^$dist==" /tmp/wheelhouse/requirements.lock.txt' in install
    # the final venv never had pip: the runtime is installed by a throwaway installer venv
    runtime = next(line for line in lines if f"/tmp/runtime/{WHEEL}" in line)
    assert "/tmp/installer/bin/pip install" in runtime


def test_the_debs_travel_in_the_context(tmp_path: Path) -> None:
    deb = tmp_path / "libgomp1_12.2.0-14_amd64.deb"
    deb.write_bytes(b"!<arch>\n")
    runtime = tmp_path / WHEEL
    runtime.write_bytes(b"wheel")
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    inputs = ContextInputs(BASE, ("numpy==2.0.0",), "3.11", [], runtime,
                           [("manifest.json", manifest)], system_debs=[deb])  # fmt: skip
    out = io.BytesIO()
    write_context(inputs, out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile")
        assert dockerfile is not None
        assert b"FROM system-packages AS dependencies" in dockerfile.read()
    assert "system-packages/libgomp1_12.2.0-14_amd64.deb" in names


def test_the_request_carries_the_packages_through_its_stored_form() -> None:
    event = DependenciesResolved(
        owner="alice", name="lgbm", version=1, bundle_uri="bundles/sha256/x.tar.gz",
        bundle_sha256="a" * 64, python_version="3.11", lock=("lightgbm==4.7.0",),
        lock_hash="h", wheelhouse_uri="wheelhouses/h.tar",
        system_packages=(SystemPackage(name="libgomp1", version="12.2.0-14",
                                       reasons=("libgomp.so.1 for lightgbm",)),),
        system_packages_uri="system-packages/" + "b" * 64 + ".tar",
    )  # fmt: skip
    request = BuildRequest.from_event(event)
    again = BuildRequest.from_json(json.loads(json.dumps(request.to_json())))
    assert again == request
    assert again.system_packages[0]["name"] == "libgomp1"
    old = {k: v for k, v in request.to_json().items() if not k.startswith("system_")}
    assert BuildRequest.from_json(old).system_packages_uri is None


def test_the_sbom_lists_debian_packages_as_deb_purls() -> None:
    document = build_sbom(
        repository="127.0.0.1:5000/alice/lgbm",
        version=1,
        digest="sha256:" + "ab" * 32,
        distributions=[{"name": "lightgbm", "version": "4.7.0"}],
        system_packages=[
            {
                "name": "libgomp1",
                "version": "12.2.0-14",
                "reasons": ["libgomp.so.1 for lightgbm"],
                "fetched": True,
            },
            {
                "name": "zlib1g",
                "version": "1:1.2.13.dfsg-1",
                "reasons": ["libz.so.1 for x"],
                "fetched": False,
            },
        ],
        created=datetime(2026, 12, 6, tzinfo=UTC),
        tool_version="0.1.0",
    )
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document)) is None
    by_name = {c["name"]: c for c in document["components"]}
    assert by_name["libgomp1"]["purl"] == "pkg:deb/debian/libgomp1@12.2.0-14?arch=amd64"
    assert "libgomp.so.1 for lightgbm" in by_name["libgomp1"]["description"]
    assert "provided by the base image" in by_name["zlib1g"]["description"]
    assert (
        deb_purl("zlib1g", "1:1.2.13.dfsg-1")
        == "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64"
    )
