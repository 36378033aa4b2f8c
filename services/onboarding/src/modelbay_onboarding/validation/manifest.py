"""The manifest of a bundle (docs/bundle.md): its schema, read without trusting anything else.

Only the fields the platform relies on are declared; others (e.g. `requirement_reasons`,
`unresolved_imports`) pass through untouched, so a newer SDK can add information freely.
"""

from __future__ import annotations

import json
from typing import Any

from modelbay_runtime.loader import MANIFEST, SUPPORTED_SPEC
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelbay_onboarding.errors import InvalidBundle
from modelbay_onboarding.system_libraries.package_table import is_debian_package_name
from modelbay_onboarding.validation.problems import BundleProblems

# Provided by the platform in every image; from an index they would be someone else's package.
PLATFORM_PACKAGES = frozenset({"modelbay", "modelbay-runtime", "modelbay-common"})


class ManifestMethod(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    description: str = ""
    input_message: str = Field(min_length=1)
    output_message: str = Field(min_length=1)
    wrapped_input: bool
    wrapped_output: bool
    batchable: bool = False
    input_type: dict[str, Any]
    output_type: dict[str, Any]


class Sample(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    input: Any
    output: Any


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    spec: str
    name: str = Field(min_length=1)
    python: str = Field(pattern=r"^\d+\.\d+(\.\d+)?([a-z]+\d*)?$")
    proto_package: str = Field(min_length=1)
    methods: dict[str, ManifestMethod] = Field(min_length=1)
    requirements: list[str] = Field(default_factory=list)
    # Debian packages the contributor declares (docs/system-packages.md); names checked below.
    system_packages: list[str] = Field(default_factory=list)
    samples: dict[str, list[Sample]] = Field(default_factory=dict)
    files: dict[str, str]
    description: str | None = None
    license: str | None = None
    tags: list[str] = Field(default_factory=list)

    @property
    def python_minor(self) -> str:
        """`3.11` for `3.11.7`: wheels and pickled bytecode are per minor version."""
        return ".".join(self.python.split(".")[:2])


def parse_manifest(raw: bytes | None) -> Manifest:
    """The manifest, or InvalidBundle naming what is missing or wrong."""
    if raw is None:
        raise InvalidBundle(
            f"the archive has no {MANIFEST} at its root; create bundles with the SDK "
            "(modelbay.dump / `modelbay bundle`)"
        )
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidBundle(f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidBundle(f"{MANIFEST} must be a JSON object")
    spec = document.get("spec")
    if spec != SUPPORTED_SPEC:
        raise InvalidBundle(
            f"{MANIFEST} has bundle spec {spec!r}, this platform reads spec {SUPPORTED_SPEC!r}; "
            "upgrade or downgrade the modelbay SDK to one that writes it",
            extensions={"supported_spec": SUPPORTED_SPEC},
        )
    try:
        return Manifest.model_validate(document)
    except ValidationError as exc:
        problems = BundleProblems()
        for error in exc.errors():
            where = ".".join(["manifest", *(str(part) for part in error["loc"])])
            problems.add(where, str(error["msg"]))
        problems.raise_if_any()
        raise  # unreachable: a ValidationError always has errors


def check_requirements(requirements: list[str], problems: BundleProblems) -> tuple[str, ...]:
    """Each requirement must be a plain PEP 508 index requirement (no URL, no pip option).

    They end up in a requirements file for pip, where a line such as `--index-url ...` would
    change where code is downloaded from; parsing with `packaging` rules that out.
    """
    checked: list[str] = []
    for index, text in enumerate(requirements):
        where = f"manifest.requirements[{index}]"
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            problems.add(where, f"{text!r} is not a PEP 508 requirement ({exc})")
            continue
        if requirement.url:
            problems.add(
                where,
                f"{text!r} points at a URL; only packages from the index can be built into "
                "images (publish the package, or bundle the code as a local module)",
            )
            continue
        if canonicalize_name(requirement.name) in PLATFORM_PACKAGES:
            problems.add(where, f"{requirement.name} is provided by the platform; remove it")
            continue
        checked.append(str(requirement))
    return tuple(checked)


def check_system_packages(names: list[str], problems: BundleProblems) -> tuple[str, ...]:
    """Each declared system package must be a Debian package name (Debian Policy §5.6.1).

    Names only: the version is the one of the base image's Debian suite, so it fits its libc.
    """
    checked: list[str] = []
    for index, name in enumerate(names):
        if not is_debian_package_name(name):
            problems.add(
                f"manifest.system_packages[{index}]",
                f"{name!r} is not a Debian package name (lower-case letters, digits, '+', '-', "
                "'.'; at least two characters, starting with a letter or digit)",
            )
            continue
        checked.append(name)
    return tuple(sorted(set(checked)))
