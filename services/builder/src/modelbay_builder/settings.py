"""Settings of the builder service, read from the environment (nothing at import time).

Every field can be set with ``MODELBAY_BUILDER_<FIELD>`` or, shared by all services, with
``MODELBAY_<FIELD>`` (the service's own name wins). Each field's description is the
documentation: the table in docs/services.md is generated from it by
``scripts/gen_settings_docs.py``. The modes are explained in docs/builder.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from modelbay_common.python_images import (
    PYTHON_BASE_IMAGES_DESCRIPTION,
    check_python_base_images,
    served_python_versions,
)
from modelbay_common.registry_auth import RegistryTokenSettings
from modelbay_common.settings import ServiceSettings
from modelbay_common.signing import SigningSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

BuilderMode = Literal["docker", "local-process", "auto"]
ImageBackend = Literal["docker", "buildah"]

SERVICE_NAME = "builder"
EVENT_SOURCE = "/modelbay/builder"


def _default_work_dir() -> Path:
    return Path(tempfile.gettempdir()) / "modelbay-builder"


class BuilderSettings(ServiceSettings, RegistryTokenSettings, SigningSettings):
    """Configuration of the builder; docs/services.md lists the variables."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_BUILDER_", extra="ignore")

    http_port: int = Field(default=8002, description="Port `python -m modelbay_builder` listens on")
    registry: str = Field(
        default="127.0.0.1:5000", description="OCI registry images are pushed to, `host:port`"
    )
    registry_insecure: bool = Field(
        default=True, description="Talk plain HTTP to the registry for manifest look-ups"
    )
    base_image: str = Field(
        default="python:3.11-slim",
        description="`FROM` of every model image (`modelbay/python:3.11-bookworm` from "
        "scripts/build-base-image.sh where nothing can be pulled) while `python_base_images` "
        "is unset",
    )
    python_base_images: dict[str, str] | None = Field(
        default=None,
        description=PYTHON_BASE_IMAGES_DESCRIPTION + "; set, a bundle's version picks its "
        "`FROM` here (a version without an entry fails the build); unset, `base_image` serves",
    )

    strip: bool = Field(
        default=True,
        description="Strip symbols from the venv's extension modules in the build stage (not "
        "auditwheel's `*.libs/`); off (`0`) when a model's library breaks when stripped "
        '(docs/builder.md, "Lean images")',
    )
    strip_image: str = Field(
        default="modelbay/build-tools:strip",
        description="Image the build stage copies GNU strip from "
        "(scripts/build-strip-tool-image.sh); absent from the engine, images are built unstripped",
    )

    docker_host: str | None = Field(
        default=None,
        description="Docker engine URL; unset: the standard `DOCKER_HOST`, else the local socket",
    )
    max_concurrent_builds: int = Field(
        default=2, ge=1, le=32, description="Builds running at once in this process"
    )
    validation_memory_limit: str = Field(
        default="1g", description="Memory limit of the validation container"
    )
    validation_cpus: float = Field(
        default=1.0,
        gt=0,
        description="CPUs the validation container may use (Docker `--cpus`; fractions allowed)",
    )
    debris_sweep_seconds: float = Field(
        default=600.0,
        ge=0,
        description="How often validation containers and scratch directories of dead builders "
        "on this host are swept (also at start; 0: only at start)",
    )
    validation_ready_timeout_seconds: float = Field(
        default=180.0, gt=0, description="How long a model server may take to become ready"
    )
    validation_sample_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Time allowed for each sample call during validation"
    )
    float_relative_tolerance: float = Field(
        default=1e-6, ge=0, description="How close a float output must be to the recorded one"
    )
    float_absolute_tolerance: float = Field(
        default=1e-9, ge=0, description="Absolute tolerance for floats near zero"
    )
    work_dir: Path = Field(
        default_factory=_default_work_dir,
        description="Scratch space for build contexts and the cached runtime wheel "
        "(`$TMPDIR/modelbay-builder`)",
    )
    runtime_wheel: Path | None = Field(
        default=None, description="A prebuilt `modelbay_runtime-*.whl` to put in every image"
    )
    runtime_source: Path | None = Field(
        default=None,
        description="The `libs/runtime` directory the wheel is built from when no wheel is "
        "given (found next to this package in a source checkout)",
    )
    log_tail_lines: int = Field(
        default=50, ge=1, le=1000, description="Build log lines kept for the API and failures"
    )
    consumer_name: str = Field(
        default="builder.builds", description="Queue of `DependenciesResolved`; replicas share it"
    )
    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the outbox relay looks when no NOTIFY woke it"
    )
    worker_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the build worker looks for queued builds"
    )
    stale_build_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A claimed build whose worker stopped heart-beating this long is taken over",
    )
    max_build_attempts: int = Field(
        default=3, ge=1, description="Claims of one build before it is failed for good"
    )
    docker_timeout_seconds: int = Field(
        default=600, ge=10, description="Timeout of each call to the Docker engine"
    )
    mode: BuilderMode = Field(
        default="auto",
        description="`docker` (build, validate, push images), `local-process` (serve each "
        "version from a venv) or `auto` (`docker` when the engine answers at start-up)",
    )
    backend: ImageBackend = Field(
        default="docker",
        description="What builds and pushes images in `docker` mode: `docker` (the engine's "
        "build API) or `buildah` (daemonless: `buildah bud`, pushed with `skopeo`; validation "
        "still runs on the Docker engine). docs/builder.md",
    )
    buildah_root: Path | None = Field(
        default=None,
        description="buildah's storage root (default `WORK_DIR/buildah/storage`)",
    )
    buildah_storage_driver: str = Field(
        default="vfs", description="buildah's storage driver (`vfs` needs no kernel support)"
    )
    buildah_timeout_seconds: int = Field(
        default=1800,
        ge=10,
        description="Bound on each buildah/skopeo command (vfs copies the file system per step, "
        "so builds are slower than Docker's)",
    )
    buildah_isolation: Literal["oci", "chroot"] = Field(
        default="oci",
        description="How buildah isolates RUN steps (`chroot` inside unprivileged pods)",
    )
    catalog_url: str = Field(
        default="http://127.0.0.1:8003",
        description="Internal API of the catalog: where a mirror fetches the peer's token "
        "(`/internal/federation/peers/{peer}/credentials`, signed like the gateway's calls)",
    )
    mirror_consumer_name: str = Field(
        default="builder.mirrors",
        description="Queue of `MirrorRequested` (federation); replicas share it",
    )
    mirror_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Bound on each call to a peer's gateway or registry while mirroring (a "
        "layer upload is one call)",
    )
    mirror_max_artifact_bytes: int = Field(
        default=2 * 1024**3,
        ge=1,
        description="Largest artifact (bundle, SBOM, ...) a peer may announce for a mirror; "
        "larger ones are refused before anything is downloaded",
    )
    local_python: str | None = Field(
        default=None,
        description="Interpreter that creates local-process venvs; must be the lock's Python "
        "version (default: the builder's own)",
    )
    local_install_timeout_seconds: float = Field(
        default=900.0, gt=0, description="Bound on `python -m venv` and each `pip install`"
    )

    @field_validator("catalog_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("python_base_images")
    @classmethod
    def _check_python_base_images(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_python_base_images(value)

    def base_image_for(self, python_version: str) -> str | None:
        """The `FROM` of a model image whose bundle was made with `python_version`; None when no
        base image is registered for it (onboarding refuses such bundles at upload)."""
        if self.python_base_images is None:
            return self.base_image
        return self.python_base_images.get(".".join(python_version.split(".")[:2]))

    def served_python_versions(self) -> tuple[str, ...]:
        return served_python_versions(self.python_base_images or {})
