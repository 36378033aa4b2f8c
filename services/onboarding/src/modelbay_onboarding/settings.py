"""Settings of the onboarding service (prefix ``MODELBAY_ONBOARDING_``).

Every field is read from ``MODELBAY_ONBOARDING_<FIELD>`` first, then ``MODELBAY_<FIELD>``. Each
field's description is the documentation: the table in docs/services.md is generated from it by
``scripts/gen_settings_docs.py``.

The zip-bomb guards work together: the expansion ratio (unpacked bytes / archive bytes) only
applies once the unpacked size passes its floor, so a tiny bundle of JSON text, which compresses
very well, is not refused. pip runs isolated from this machine's pip configuration and ``PIP_*``
variables; only the fields below configure it.
"""

from __future__ import annotations

from pathlib import Path

from modelbay_common.python_images import (
    DEFAULT_PYTHON_BASE_IMAGES,
    PYTHON_BASE_IMAGES_DESCRIPTION,
    check_python_base_images,
    served_python_versions,
)
from modelbay_common.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

SERVICE_NAME = "onboarding"
EVENT_SOURCE = "/modelbay/onboarding"
GIB = 1024**3
MIB = 1024**2


class OnboardingSettings(ServiceSettings):
    """Configuration of onboarding; docs/services.md lists the variables."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_ONBOARDING_", extra="ignore")

    http_port: int = Field(
        default=8001, description="Port `python -m modelbay_onboarding` listens on"
    )

    max_upload_bytes: int = Field(
        default=2 * GIB, gt=0, description="A larger body is refused with 413 once exceeded"
    )
    max_unpacked_bytes: int = Field(
        default=8 * GIB, gt=0, description="Zip-bomb guard: total size of the unpacked files"
    )
    max_archive_files: int = Field(
        default=10_000,
        gt=0,
        description="Zip-bomb guard: entries in one archive, files and directories",
    )
    max_archive_header_bytes: int = Field(
        default=1 * MIB,
        gt=0,
        description="Largest extended tar header record (PAX, GNU long name), refused from its "
        "size field before it is read; global PAX records add up against it",
    )
    max_expansion_ratio: float = Field(
        default=100.0, gt=1, description="Zip-bomb guard: unpacked bytes / archive bytes"
    )
    expansion_ratio_floor_bytes: int = Field(
        default=64 * MIB, ge=0, description="Unpacked size from which the ratio applies"
    )
    max_metadata_file_bytes: int = Field(
        default=32 * MIB,
        gt=0,
        description="Largest manifest, proto, descriptor set or schemas file",
    )
    spool_dir: Path | None = Field(
        default=None,
        description="Where uploads are spooled while they are checked (system temp dir)",
    )
    debris_sweep_seconds: float = Field(
        default=600.0,
        ge=0,
        description="How often spool files and resolve directories of dead onboarding processes "
        "on this host are swept (also at start; 0: only at start)",
    )
    require_samples: bool = Field(
        default=False,
        description="Refuse a bundle with a method that has no sample (otherwise the answer "
        "warns and the builder only checks that such a method's image starts)",
    )
    onnx_min_opset: int = Field(
        default=7,
        ge=1,
        description="Oldest ai.onnx opset an ONNX model may use (onnxruntime cannot run older)",
    )
    onnx_max_opset: int = Field(
        default=28,
        ge=1,
        description="Newest ai.onnx opset an ONNX model may use (onnxruntime 1.32, the version "
        "the SDK pins today, loads up to 28; raise it with the pinned onnxruntime)",
    )
    max_onnx_bytes: int = Field(
        default=1 * GIB,
        gt=0,
        description="Largest model.onnx of an ONNX bundle (protobuf itself stops at 2 GiB)",
    )
    registry: str = Field(
        default="127.0.0.1:5000",
        description="The platform's OCI registry, `host:port` (the builder's): a pre-built "
        "image pushed by reference must be in it, in the uploader's staging space",
    )
    python_base_images: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PYTHON_BASE_IMAGES),
        description=PYTHON_BASE_IMAGES_DESCRIPTION,
    )

    @field_validator("python_base_images")
    @classmethod
    def _check_python_base_images(cls, value: dict[str, str]) -> dict[str, str]:
        return check_python_base_images(value)

    @property
    def supported_python_versions(self) -> list[str]:
        """The `major.minor` versions a bundle may be made with: those with a base image."""
        return list(served_python_versions(self.python_base_images))

    resolver_enabled: bool = Field(
        default=True, description="Consume `ModelUploaded` and resolve dependencies here"
    )
    consumer_name: str = Field(
        default="onboarding.resolver",
        description="Queue of `ModelUploaded` for the resolver; replicas share it",
    )
    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the outbox relay looks when no NOTIFY woke it"
    )
    max_concurrent_resolutions: int = Field(
        default=2, ge=1, description="`pip download` runs at once in this process"
    )
    pip_index_url: str | None = Field(
        default=None, description="Package index the resolver uses (PyPI when unset)"
    )
    pip_cert: Path | None = Field(
        default=None, description="CA bundle for the index (the system trust store when unset)"
    )
    pip_cache_dir: Path | None = Field(
        default=None, description="pip's cache directory (pip's default when unset)"
    )
    pip_timeout_seconds: float = Field(
        default=1800.0, gt=0, description="Bound on one `pip lock` or `pip download` run"
    )
    debian_suites: dict[str, str] = Field(
        default_factory=lambda: {"3.11": "bookworm", "3.13": "trixie"},
        description="Debian suite of the base image of each Python `major.minor`, where the "
        "resolver finds system packages (docs/system-packages.md); keep it in step with "
        "PYTHON_BASE_IMAGES",
    )
    debian_base_packages: list[str] = Field(
        default_factory=lambda: [
            "python3",
            "python3-venv",
            "python-is-python3",
            "ca-certificates",
            "tzdata",
            "libstdc++6",
            "liblz4-1",
        ],
        description="What the base images keep beyond Debian's Essential packages "
        "(scripts/build-python-base-image.sh, PACKAGES and KEEP): with their dependencies, "
        "never fetched",
    )
    debian_mirror: str = Field(
        default="http://deb.debian.org/debian",
        description="Debian mirror the resolver fetches package indexes and `.deb` files from",
    )
    debian_keyring: Path = Field(
        default=Path("/usr/share/keyrings/debian-archive-keyring.gpg"),
        description="Keyring that signs the mirror's Release files",
    )
    debian_index_max_age_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="How old a suite's package index may get before `apt-get update` runs again",
    )
    debian_contents_lookup: bool = Field(
        default=True,
        description="Look a library up in the suite's Contents-amd64.gz when the table does not "
        "name its package (otherwise such a library fails the resolution)",
    )
    system_package_cache_dir: Path | None = Field(
        default=None,
        description="apt state and `.deb` cache of the resolver, one directory per suite "
        "(`~/.cache/modelbay/debian` when unset)",
    )
    system_library_packages: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides of the soname → Debian package table (an empty package removes "
        'an entry), e.g. `{"libfoo.so.1": "libfoo1"}`',
    )

    @property
    def debian_cache_root(self) -> Path:
        return self.system_package_cache_dir or Path.home() / ".cache" / "modelbay" / "debian"
