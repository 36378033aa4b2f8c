"""The Docker engine connection, opened on first use (docker-py asks the engine for its API
version when a client is created, and nothing may do I/O at import or construction time)."""

from __future__ import annotations

import threading

import docker


class DockerConnection:
    def __init__(self, base_url: str | None, timeout: int) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                if self._base_url:
                    self._client = docker.DockerClient(
                        base_url=self._base_url, timeout=self._timeout
                    )
                else:
                    self._client = docker.from_env(timeout=self._timeout)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
