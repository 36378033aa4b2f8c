"""Records of curation shaped as the shared contract (`modelbay_common.contracts.curation`)."""

from __future__ import annotations

from modelbay_common.contracts.curation import Alias, PublishRequest

from modelbay_catalog.curation.records import AliasRecord, PublishRequestRecord


def alias_out(record: AliasRecord) -> Alias:
    return Alias(
        alias=record.alias,
        version=record.version,
        automatic=record.automatic,
        moved_by=record.moved_by,
        moved_at=record.moved_at,
    )


def request_out(record: PublishRequestRecord) -> PublishRequest:
    return PublishRequest(
        id=record.id,
        owner=record.owner,
        name=record.name,
        version=record.version,
        visibility=record.visibility,
        description=record.description,
        category=record.category,
        license=record.license,
        tags=None if record.tags is None else list(record.tags),
        status=record.status,  # the column holds the three values
        requested_by=record.requested_by,
        requested_at=record.requested_at,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        comment=record.comment,
    )
