"""`docker run` of a model image for `modelbay run`, on a port of this machine.

Without a port Docker itself binds a free one (`-p 127.0.0.1::8080`) and `docker port` reports
it: no window between finding a free port and binding it, and no "port is already allocated"
when 8080 is taken. `--grpc-port` publishes the runtime's gRPC port (8081) the same way.
"""

from __future__ import annotations

import subprocess

from modelbay.errors import ApiError

CONTAINER_PORT = 8080  # the model server's port inside every image
# The runtime's gRPC port in images the platform built (OIP v2 and the model's own service);
# pre-built images in other languages serve HTTP only.
GRPC_CONTAINER_PORT = 8081


def start_container(
    docker: str, image: str, port: int | None, *command: str, grpc_port: int | None = None
) -> tuple[str, int]:
    """`docker run -d` of `image` (with `command`, if any) publishing the model server's port on
    127.0.0.1:`port`, or on a free port when `port` is None; with `grpc_port`, the gRPC port too
    (0: a free one, `published_port` tells which). Returns the short container id and the host
    port of HTTP."""
    published = ["-p", f"127.0.0.1:{port if port is not None else ''}:{CONTAINER_PORT}"]
    if grpc_port is not None:
        published += ["-p", f"127.0.0.1:{grpc_port or ''}:{GRPC_CONTAINER_PORT}"]
    started = subprocess.run(
        [docker, "run", "-d", *published, image, *command],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        raise ApiError("docker run failed", started.stderr.strip())
    container = started.stdout.strip()[:12]
    if port is not None:
        return container, port
    return container, published_port(docker, container, CONTAINER_PORT)


def published_port(docker: str, container: str, container_port: int) -> int:
    """The host port Docker bound for `container_port` (`docker port`)."""
    mapped = subprocess.run(
        [docker, "port", container, f"{container_port}/tcp"],
        capture_output=True,
        text=True,
        check=False,
    )
    host_port = _first_host_port(mapped.stdout)
    if mapped.returncode != 0 or host_port is None:
        raise ApiError(
            "docker did not report the port it picked",
            f"{mapped.stderr.strip()}; stop the container with `docker rm -f {container}`",
        )
    return host_port


def _first_host_port(output: str) -> int | None:
    """The port of `docker port`'s first binding line, e.g. `127.0.0.1:49153`."""
    for line in output.splitlines():
        text = line.strip().rpartition(":")[2]
        if text.isdigit():
            return int(text)
    return None
