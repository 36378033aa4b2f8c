"""This instance as an origin: the changes feed its peers read (`GET /v1/federation/changes`).

An entry is appended in the transaction of the change itself (never by scanning the models):

- `published` for a version of a public model when it becomes ready, and for every ready
  version when a model becomes public (a publication to `public` of a public model re-announces
  the published version, so peers pick up new metadata);
- `withdrawn` (no version) when a public model stops being public (a publication to `org` or
  `private`, the "unpublish") or is deleted.

Entries are shaped when they are read: a `published` entry of a model that is not public any
more, or of a version that is not ready, is left out (its `withdrawn` comes later in the feed).
"""

from __future__ import annotations

from modelbay_common.access import Visibility
from modelbay_common.contracts.federation import ChangeEntry, ChangesPage

from modelbay_catalog.federation.errors import InvalidCursor
from modelbay_catalog.federation.rules import ChangeAction
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.schemas import version_detail
from modelbay_catalog.store import CatalogStore

MAX_CURSOR = 2**63 - 1


def parse_cursor(cursor: str) -> int:
    if not cursor.isdigit() or int(cursor) > MAX_CURSOR:
        raise InvalidCursor(cursor)
    return int(cursor)


async def changes_page(store: CatalogStore, after: str, limit: int) -> ChangesPage:
    """The entries after `after`, at most `limit` read (those left out still move the cursor)."""
    federation = FederationStore(store.session)
    changes = await federation.changes_after(parse_cursor(after), limit + 1)
    has_more = len(changes) > limit
    changes = changes[:limit]
    entries: list[ChangeEntry] = []
    for change in changes:
        entry = await _entry(
            store, change.seq, change.owner, change.name, change.version, change.action
        )
        if entry is not None:
            entries.append(entry)
    next_cursor = str(changes[-1].seq) if changes else after
    return ChangesPage(entries=entries, next_cursor=next_cursor, has_more=has_more)


async def _entry(
    store: CatalogStore,
    seq: int,
    owner: str,
    name: str,
    version: int | None,
    action: ChangeAction,
) -> ChangeEntry | None:
    if action is ChangeAction.WITHDRAWN or version is None:
        return ChangeEntry(
            cursor=str(seq), action="withdrawn", owner=owner, name=name, version=None
        )
    model = await store.find_model(owner, name)
    if model is None or model.visibility is not Visibility.PUBLIC:
        return None
    stored = await store.find_version(model.id, version)
    if stored is None or stored.state.status is not VersionStatus.READY:
        return None
    return ChangeEntry(
        cursor=str(seq),
        action="published",
        owner=owner,
        name=name,
        version=version,
        description=model.description,
        category=model.category,
        license=model.license,
        tags=list(model.tags),
        published_at=model.published_at,
        detail=version_detail(model, stored),
    )
