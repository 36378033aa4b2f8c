"""A tiny HTTP client for readiness polling and correctness checks (not for load)."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post_json(port: int, path: str, body: bytes, timeout: float) -> tuple[int, Any]:
    """POST a JSON body to loopback; returns (status, decoded JSON or raw text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw)
    except json.JSONDecodeError:
        return response.status, raw
