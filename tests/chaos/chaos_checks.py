"""What the fault suite looks at once every version is ready, each from its source of truth:

- the builder's `builds` table and each service's `outbox` (the private Postgres);
- the registry's manifests and tags (HTTP API v2 with a pull token minted like the gateway's);
- the Docker engine's validation containers and the scratch directories on disk;
- the events an external subscriber's own durable queue received (the private RabbitMQ).

No pytest here: the test asserts on what these return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
from e2e_stack import admin_dsn
from modelbay_common.registry_auth import RegistryTokenIssuer, repository_access

EXCHANGE = "modelbay.events"
SCHEMAS = ("onboarding", "catalog", "builder", "gateway")
# The lifecycle of a version that becomes ready (docs/events.md); progress events may come between.
LIFECYCLE = (
    "modelbay.model.uploaded.v1",
    "modelbay.model.dependencies_resolved.v1",
    "modelbay.model.image_built.v1",
)
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


async def unpublished_outbox_rows(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(admin_dsn(database_url))
    try:
        return {
            schema: int(
                await conn.fetchval(
                    f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"
                )
            )
            for schema in SCHEMAS
        }
    finally:
        await conn.close()


async def build_records(database_url: str, owner: str) -> dict[str, list[tuple[str, str | None]]]:
    """`name:version` → every build row's (status, image digest) for `owner`."""
    conn = await asyncpg.connect(admin_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT name, version, status, image_digest FROM builder.builds WHERE owner = $1",
            owner,
        )
    finally:
        await conn.close()
    found: dict[str, list[tuple[str, str | None]]] = {}
    for row in rows:
        found.setdefault(f"{row['name']}:{row['version']}", []).append(
            (row["status"], row["image_digest"])
        )
    return found


@dataclass(frozen=True)
class RegistryView:
    tags: list[str]
    digest_of_tag: dict[str, str]


def registry_view(
    registry: str, issuer: RegistryTokenIssuer | None, repository: str
) -> RegistryView:
    """The repository's tags and the manifest digest each tag names, as the registry says."""
    headers = {"Accept": MANIFEST_TYPES}
    if issuer is not None:
        token = issuer.mint("chaos-suite", [repository_access(repository, "pull")])
        headers["Authorization"] = f"Bearer {token.token}"
    base = f"http://{registry}/v2/{repository}"
    with httpx.Client(headers=headers, timeout=60) as client:
        listed = client.get(f"{base}/tags/list")
        listed.raise_for_status()
        tags = sorted(listed.json().get("tags") or [])
        digests = {}
        for tag in tags:
            manifest = client.head(f"{base}/manifests/{tag}")
            manifest.raise_for_status()
            digests[tag] = manifest.headers["Docker-Content-Digest"]
    return RegistryView(tags, digests)


def orphan_validation_containers(docker_host: str, owner: str) -> list[str]:
    """Validation containers (running or not) of `owner`'s builds still on the engine."""
    import docker

    client = docker.DockerClient(base_url=docker_host, timeout=60)
    try:
        found = client.containers.list(all=True, filters={"label": "dev.modelbay.validation"})
        return [
            f"{c.name} ({c.status}, {c.labels.get('dev.modelbay.validation')})"
            for c in found
            if owner in (c.labels.get("dev.modelbay.validation") or "")
        ]
    finally:
        client.close()


def scratch_left(directories: Iterable[Path]) -> list[str]:
    """Entries Modelbay's processes leave in their scratch places (`modelbay-*`, `build-*`)."""
    left = []
    for directory in directories:
        if directory.is_dir():
            left += [str(entry) for entry in directory.iterdir()]
    return left


async def declare_subscriber(amqp_url: str, queue_name: str) -> None:
    """What an integrator does once: a durable queue of its own bound to every model event, so
    events published while the integrator (or the broker) is down are still there."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(queue_name, durable=True)
        await queue.bind(exchange, routing_key="modelbay.model.#")


async def drain_subscriber(amqp_url: str, queue_name: str) -> list[dict[str, Any]]:
    """Every event in the subscriber's queue, in arrival order (acknowledged as read)."""
    events: list[dict[str, Any]] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            events.append(json.loads(message.body))
    return events


def lifecycle_problems(events: list[dict[str, Any]], subjects: Iterable[str]) -> list[str]:
    """Per version: the lifecycle events complete and in order; a repeated event id (the
    outbox's at-least-once relay after a crash) must carry the very same event."""
    problems = []
    by_id: dict[str, dict[str, Any]] = {}
    for event in events:
        first = by_id.setdefault(event["id"], event)
        if first != event:
            problems.append(f"event {event['id']} delivered twice with different content")
    for subject in subjects:
        seen_ids: set[str] = set()
        order = []
        for event in events:
            if event.get("subject") != subject or event["id"] in seen_ids:
                continue
            seen_ids.add(event["id"])
            order.append(event["type"])
        lifecycle = [kind for kind in order if kind in LIFECYCLE]
        if lifecycle != list(LIFECYCLE):
            problems.append(f"{subject}: lifecycle {lifecycle} (all events: {order})")
    return problems
