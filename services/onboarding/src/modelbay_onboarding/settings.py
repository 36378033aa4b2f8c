"""Settings of the onboarding service (prefix ``MODELBAY_ONBOARDING_``).

Every field is read from ``MODELBAY_ONBOARDING_<FIELD>`` first, then ``MODELBAY_<FIELD>``:

- ``DATABASE_URL``, ``BUS_URL``, ``BLOB_URL``, ``LOG_LEVEL``, ``LOG_JSON``, ``HTTP_HOST``: see
  :class:`modelbay_common.settings.ServiceSettings`.
- ``HTTP_PORT`` (8001).
- ``MAX_UPLOAD_BYTES`` (2 GiB): a larger body is refused with 413 as soon as it is exceeded.
- ``MAX_UNPACKED_BYTES`` (8 GiB), ``MAX_ARCHIVE_FILES`` (10 000), ``MAX_EXPANSION_RATIO`` (100)
  with ``EXPANSION_RATIO_FLOOR_BYTES`` (64 MiB): zip-bomb guards. The ratio (unpacked bytes /
  archive bytes) only applies once the unpacked size passes the floor, so a tiny bundle of
  JSON text, which compresses very well, is not refused.
- ``MAX_METADATA_FILE_BYTES`` (32 MiB): largest manifest, proto, descriptor set or schemas file.
- ``SPOOL_DIR`` (system temp dir): where uploads are spooled while they are checked.
- ``REQUIRE_SAMPLES`` (false): refuse a bundle with a method that has no sample (otherwise the
  202 answer carries a warning and the builder only checks that such a method's image starts).
- ``SUPPORTED_PYTHON_VERSIONS`` (``["3.11"]``, JSON list): the ``major.minor`` versions model
  images can be built for.
- ``RESOLVER_ENABLED`` (true): consume ``ModelUploaded`` and resolve dependencies here.
- ``MAX_CONCURRENT_RESOLUTIONS`` (2): ``pip download`` runs at once in this process.
- ``PIP_INDEX_URL`` (PyPI), ``PIP_CERT`` (none: the system trust store), ``PIP_CACHE_DIR``
  (pip's default), ``PIP_TIMEOUT_SECONDS`` (1800): how the resolver runs pip. pip runs
  isolated from this machine's pip configuration and ``PIP_*`` variables.
"""

from __future__ import annotations

from pathlib import Path

from modelbay_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

GIB = 1024**3
MIB = 1024**2


class OnboardingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MODELBAY_ONBOARDING_", extra="ignore")

    http_port: int = 8001

    max_upload_bytes: int = Field(default=2 * GIB, gt=0)
    max_unpacked_bytes: int = Field(default=8 * GIB, gt=0)
    max_archive_files: int = Field(default=10_000, gt=0)
    max_expansion_ratio: float = Field(default=100.0, gt=1)
    expansion_ratio_floor_bytes: int = Field(default=64 * MIB, ge=0)
    max_metadata_file_bytes: int = Field(default=32 * MIB, gt=0)
    spool_dir: Path | None = None
    require_samples: bool = False
    supported_python_versions: list[str] = Field(default_factory=lambda: ["3.11"])

    resolver_enabled: bool = True
    max_concurrent_resolutions: int = Field(default=2, ge=1)
    pip_index_url: str | None = None
    pip_cert: Path | None = None
    pip_cache_dir: Path | None = None
    pip_timeout_seconds: float = Field(default=1800.0, gt=0)
