"""The daemonless backend (`MODELBAY_BUILDER_BACKEND=buildah`): `buildah bud`, then push.

A builder pod on Kubernetes has no Docker socket; buildah (what Tekton and OpenShift build pods
run) builds the same context tar from the same Dockerfile, so the image has the same layers,
labels, user, health check and command (`--format docker`: the OCI image format has no
HEALTHCHECK). Step by step:

1. the base image must be in buildah's store: taken from the Docker engine when it has it
   (`buildah pull docker-daemon:BASE`, no registry needed; here nothing can be pulled), else
   pulled by name; the build then runs with `--pull=never`, so the Dockerfile's `FROM BASE`
   resolves locally, unchanged;
2. `buildah bud --layers --network=none` (nothing can be fetched, as with Docker's build),
   `--storage-driver vfs` by default (works without fuse-overlayfs or privileges for overlay);
   whether the dependency layer came from the cache is read from buildah's `--> Using cache`
   lines after the pip and venv-copy steps, as on the Docker path;
3. validation still runs the image on the Docker engine (the task allows it): the image is
   copied there (`buildah push IMAGE docker-daemon:TAG`) and `validation.py` runs unchanged;
4. the push goes from buildah's store to the registry with `skopeo copy` (same containers/image
   library; buildah 1.28 has no option to send a bearer token) using a push token the builder
   minted itself, exactly as the Docker path hands one to the engine (`RegistryCredentials`);
   the manifest digest comes from `--digestfile`.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelbay_common.registry_auth import PULL, PUSH

from modelbay_builder.build_log import BuildLog
from modelbay_builder.docker_build import BuiltImage, StepCacheTracker
from modelbay_builder.errors import BuildStepFailed
from modelbay_builder.registry import RegistryCredentials, repository_path

# buildah prints `[2/3] STEP 4/9: RUN ...` and `--> Using cache <id>`; the Docker path's
# tracker reads docker's `Step 4/9 : RUN ...` and ` ---> Using cache`.
_BUILDAH_STEP = re.compile(r"^(?:\[\d+/\d+\] )?STEP (\d+)/(\d+): (.*)$")
_BUILDAH_CACHED = "--> Using cache"


def as_docker_line(line: str) -> str:
    """A buildah progress line in the form `StepCacheTracker` reads."""
    match = _BUILDAH_STEP.match(line.strip())
    if match:
        return f"Step {match.group(1)}/{match.group(2)} : {match.group(3)}"
    if line.startswith(_BUILDAH_CACHED):
        return " ---> Using cache" + line[len(_BUILDAH_CACHED) :]
    return line


@dataclass(frozen=True)
class BuildahConfig:
    root: Path
    runroot: Path
    storage_driver: str = "vfs"
    isolation: str = "oci"
    docker_host: str | None = None
    registry_insecure: bool = True
    timeout_seconds: int = 600


class BuildahBackend:
    """Builds with buildah and pushes with skopeo; hands the image to Docker for validation."""

    def __init__(self, config: BuildahConfig, credentials: RegistryCredentials) -> None:
        self._config = config
        self._credentials = credentials

    def _store_options(self) -> list[str]:
        config = self._config
        return [
            "--root", str(config.root),
            "--runroot", str(config.runroot),
            "--storage-driver", config.storage_driver,
        ]  # fmt: skip

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self._config.docker_host:
            env["DOCKER_HOST"] = self._config.docker_host
        return env

    def _run(self, command: Sequence[str], log: BuildLog, what: str) -> str:
        """Run `command`, streaming its output into the build log line by line (the API shows
        the log tail while a long vfs build runs); its output. The whole command is bounded by
        the timeout: a hung step is killed, not waited for."""
        log.line(f"$ {' '.join(command[:2])} … ({what})")  # never the arguments: a token
        try:
            process = subprocess.Popen(
                list(command),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=self._env(),
            )
        except OSError as exc:
            raise BuildStepFailed(f"{what} failed: {exc}", log.tail(50)) from exc
        killer = threading.Timer(self._config.timeout_seconds, process.kill)
        killer.start()
        lines: list[str] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                log.line(lines[-1])
            code = process.wait()
        finally:
            timed_out = not killer.is_alive()
            killer.cancel()
        if code != 0:
            why = (
                f"timed out after {self._config.timeout_seconds} s"
                if timed_out
                else (lines[-1] if lines else f"exit code {code}")
            )
            raise BuildStepFailed(f"{what} failed: {why}", log.tail(50))
        return "\n".join(lines)

    def ensure_base(self, base_image: str, log: BuildLog) -> None:
        """Put `base_image` in buildah's store (from the Docker engine when it has it)."""
        inspect = ["buildah", *self._store_options(), "inspect", "--type", "image", base_image]
        if (
            subprocess.run(inspect, capture_output=True, env=self._env(), check=False).returncode
            == 0
        ):
            return
        pull = ["buildah", *self._store_options(), "pull", "--quiet"]
        try:
            self._run(
                [*pull, f"docker-daemon:{base_image}"], log, "taking the base image from Docker"
            )
        except BuildStepFailed:
            self._run([*pull, base_image], log, f"pulling the base image {base_image}")

    def build(
        self,
        context_tar: Path,
        *,
        base_image: str,
        tag: str,
        labels: Mapping[str, str],
        log: BuildLog,
    ) -> BuiltImage:
        """Build the context tar into buildah's store, tagged `tag`; then copy it into the
        Docker engine for validation. `image_id` is the engine's id of the copy."""
        self.ensure_base(base_image, log)
        with tempfile.TemporaryDirectory(prefix="modelbay-buildah-") as directory:
            context = Path(directory)
            self._run(
                ["tar", "-xf", str(context_tar), "-C", str(context)], log, "unpacking the context"
            )
            label_options = [option for key, value in sorted(labels.items())
                             for option in ("--label", f"{key}={value}")]  # fmt: skip
            bud = [
                "buildah", *self._store_options(), "bud",
                "--format", "docker", "--layers", "--pull=never", "--network=none",
                "--isolation", self._config.isolation,
                *label_options, "--tag", tag, str(context),
            ]  # fmt: skip
            output = self._run(bud, log, "buildah bud")
        tracker = StepCacheTracker()
        for line in output.splitlines():
            tracker.feed(as_docker_line(line))
        self._run(
            ["buildah", *self._store_options(), "push", "--quiet", tag, f"docker-daemon:{tag}"],
            log,
            "copying the image into the Docker engine for validation",
        )
        image_id = self._run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", tag], log, "docker image inspect"
        ).strip()
        return BuiltImage(
            image_id=image_id, dependency_layer_cached=tracker.dependency_layer_cached
        )

    def push(self, tag: str, log: BuildLog) -> str:
        """Push `tag` (registry/owner/name:version) from buildah's store; the manifest digest."""
        config = self._config
        store = f"containers-storage:[{config.storage_driver}@{config.root}+{config.runroot}]{tag}"
        auth = self._credentials.auth_config(repository_path(tag), PULL, PUSH)
        token = ["--dest-registry-token", auth["registrytoken"]] if auth else []
        with tempfile.TemporaryDirectory(prefix="modelbay-skopeo-") as directory:
            digest_file = Path(directory) / "digest"
            command = [
                "skopeo", "copy", "--quiet", "--digestfile", str(digest_file),
                f"--dest-tls-verify={'false' if config.registry_insecure else 'true'}",
                *token, store, f"docker://{tag}",
            ]  # fmt: skip
            self._run(command, log, f"pushing {tag}")  # logs the command's first words only
            digest = digest_file.read_text().strip() if digest_file.exists() else ""
        if not digest.startswith("sha256:"):
            raise BuildStepFailed(f"the registry reported no digest for {tag}", log.tail(50))
        return digest
