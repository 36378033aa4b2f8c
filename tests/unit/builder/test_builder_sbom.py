"""The SBOM: a valid CycloneDX 1.5 document listing the image's Python packages as pypi purls."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from modelbay_builder.sbom import build_sbom, pypi_purl
from modelbay_common.blob.keys import sbom_key

DIGEST = "sha256:" + "ab" * 32
DISTRIBUTIONS = [
    {"name": "scikit_learn", "version": "1.5.2", "license": "BSD-3-Clause", "summary": "ML"},
    {"name": "numpy", "version": "2.1.0", "license": "", "summary": ""},
    {"name": "modelbay-runtime", "version": "0.1.0", "license": "", "summary": "server"},
    {"name": "weird", "version": "1.0", "license": "line one\nline two", "summary": ""},
]


def document() -> dict[str, object]:
    return build_sbom(
        repository="127.0.0.1:5000/alice/iris",
        version=3,
        digest=DIGEST,
        distributions=DISTRIBUTIONS,
        created=datetime(2025, 5, 1, 12, 0, tzinfo=UTC),
        tool_version="0.1.0",
    )


def test_document_validates_against_the_cyclonedx_1_5_schema() -> None:
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document()))
    assert errors is None, errors


def test_components_are_pypi_purls_sorted() -> None:
    components = document()["components"]
    assert isinstance(components, list)
    assert [c["purl"] for c in components] == [
        "pkg:pypi/modelbay-runtime@0.1.0",
        "pkg:pypi/numpy@2.1.0",
        "pkg:pypi/scikit-learn@1.5.2",
        "pkg:pypi/weird@1.0",
    ]
    by_name = {c["name"]: c for c in components}
    assert by_name["scikit_learn"]["licenses"] == [{"license": {"name": "BSD-3-Clause"}}]
    assert "licenses" not in by_name["weird"], "multi-line licence texts are left out"


def test_the_image_is_the_subject_with_its_digest() -> None:
    doc = document()
    metadata = doc["metadata"]
    assert isinstance(metadata, dict)
    image = metadata["component"]
    assert image["type"] == "container"
    assert image["version"] == "3"
    assert image["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert image["purl"].startswith("pkg:oci/iris@sha256%3A")
    assert metadata["timestamp"] == "2025-05-01T12:00:00Z"


def test_same_image_gets_the_same_serial_number() -> None:
    assert document()["serialNumber"] == document()["serialNumber"]
    assert str(document()["serialNumber"]).startswith("urn:uuid:")


def test_purl_and_key_forms() -> None:
    assert pypi_purl("Scikit_Learn", "1.5.2") == "pkg:pypi/scikit-learn@1.5.2"
    assert pypi_purl("torch", "2.3.0+cpu") == "pkg:pypi/torch@2.3.0+cpu"
    assert sbom_key("alice", "iris", 3) == "sboms/alice/iris/3.cdx.json"
