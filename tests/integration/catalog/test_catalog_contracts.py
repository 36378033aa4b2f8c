"""The catalog keeps the shared contracts on real Postgres: the SQL twins of the access rule
(the Core expression and the search's SQL text) answer exactly like
`modelbay_common.access.can_see`, and an event the catalog does not
consume is acknowledged without creating a model or a version row."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from catalog_events import RunningCatalog, uploaded, wrap
from modelbay_catalog.handlers import lifecycle_handler
from modelbay_catalog.orm import SCHEMA, ModelRow, ModelSearchRow, PublishRequestRow, VersionRow
from modelbay_catalog.search_sql import Parameters, visible_sql
from modelbay_catalog.settings import CatalogSettings
from modelbay_catalog.store_search import visible_to
from modelbay_common.access import (
    Caller,
    Membership,
    ModelAccess,
    OrgRole,
    Visibility,
    can_see,
)
from modelbay_common.db import SessionFactory, create_engine, session_factory, transaction
from modelbay_common.events import Event, Published
from sqlalchemy import func, select, update

CONSUMER = CatalogSettings.model_fields["consumer_name"].default  # the fixture's catalog
# An owner with an organisation, one without, and models the organisations own (one whose
# organisation the catalog recorded, one without).
OWNERS = {"alice": "acme", "erin": None, "acme": "acme", "globex": None}
CALLERS = [
    *(
        Caller(user="mia", memberships=(Membership(org, role),))
        for org, role in itertools.product(("acme", "globex"), OrgRole)
    ),
    Caller(user="mia", org="globex", memberships=(Membership("acme", OrgRole.READER),)),
    Caller(user="pat", publisher=True),
    Caller(org="acme", publisher=True),  # a publisher flag without a user is nobody's
    Caller(),
    Caller(org="acme"),
    Caller(user="alice"),
    Caller(user="alice", org="acme"),
    Caller(user="bob", org="acme"),
    Caller(user="carol", org="globex"),
    Caller(user="dave"),
    Caller(user="erin"),
    Caller(user="root", admin=True),
]


class ModelStarred(Event):
    """A new event some other service might add; the catalog does not know it."""

    type: ClassVar[str] = "modelbay.model.starred.v1"

    starred_by: str


@pytest.fixture
async def sessions(catalog_database_url: str) -> AsyncIterator[SessionFactory]:
    """A second way into the catalog's database, to look at its rows directly."""
    engine = create_engine(catalog_database_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_the_sql_twin_agrees_with_can_see_for_every_caller_and_model(
    catalog: RunningCatalog, sessions: SessionFactory
) -> None:
    models: dict[str, ModelAccess] = {}
    for (owner, org), visibility in itertools.product(OWNERS.items(), Visibility):
        name = f"m-{visibility.value}"
        await catalog.deliver(uploaded(owner, name, owner_org=org))
        models[f"{owner}/{name}"] = ModelAccess(owner, org, visibility)
    # Private models with a pending publish request (`under_review`), and one whose request
    # was decided (no longer under review).
    reviews = {"pending": True, "declined": False}
    for (owner, org), status in itertools.product(OWNERS.items(), reviews):
        await catalog.deliver(uploaded(owner, f"m-review-{status}", owner_org=org))
        models[f"{owner}/m-review-{status}"] = ModelAccess(
            owner, org, Visibility.PRIVATE, under_review=reviews[status]
        )
    async with transaction(sessions) as session:
        for path, access in models.items():
            owner, name = path.split("/")
            model_id = await session.scalar(
                update(ModelRow)
                .where(ModelRow.owner == owner, ModelRow.name == name)
                .values(visibility=access.visibility.value)
                .returning(ModelRow.id)
            )
            if name.startswith("m-review-"):
                status = name.removeprefix("m-review-")
                session.add(
                    PublishRequestRow(
                        model_id=model_id,
                        version=1,
                        visibility="public",
                        description="d",
                        category="other",
                        license="MIT",
                        status=status,
                        requested_by=owner,
                    )
                )

    for caller in CALLERS:
        async with transaction(sessions) as session:
            rows = await session.execute(
                select(ModelRow.owner, ModelRow.name).where(visible_to(caller))
            )
            seen_by_sql = {f"{owner}/{name}" for owner, name in rows}
            # The same rule on the narrow copy relevance search and facets read (0016).
            copied = await session.execute(
                select(ModelRow.owner, ModelRow.name)
                .join(ModelSearchRow, ModelSearchRow.model_id == ModelRow.id)
                .where(visible_to(caller, ModelSearchRow))
            )
            seen_in_copy = {f"{owner}/{name}" for owner, name in copied}
            # The same rule as SQL text, as the search runs it on the driver (search_sql.py).
            params = Parameters()
            condition = visible_sql(caller, params, "s")
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            assert driver is not None
            as_text = await driver.fetch(
                f"SELECT m.owner, m.name FROM {SCHEMA}.model_search AS s "
                f"JOIN {SCHEMA}.models AS m ON m.id = s.model_id WHERE {condition}",
                *params.values,
            )
            seen_by_text = {f"{row[0]}/{row[1]}" for row in as_text}
        seen_by_rule = {path for path, access in models.items() if can_see(caller, access)}
        assert seen_by_sql == seen_by_rule, caller
        assert seen_in_copy == seen_by_rule, caller
        assert seen_by_text == seen_by_rule, caller


async def test_an_event_the_catalog_does_not_consume_creates_no_row(
    catalog: RunningCatalog, sessions: SessionFactory
) -> None:
    starred = wrap(ModelStarred(owner="alice", name="iris", version=1, starred_by="bob"))
    published = wrap(
        Published(
            owner="alice",
            name="iris",
            version=1,
            visibility="public",
            image_ref="r",
            published_by="a",
        )
    )
    # Through the bus (the catalog is not subscribed to these types) ...
    await catalog.deliver(starred, published)
    # ... and straight into its handler, as a broader binding or a replay would deliver them.
    handler = lifecycle_handler("catalog.contracts-test", sessions)
    for unknown in (starred, published):
        await handler(unknown)  # returns: the bus would acknowledge

    async with transaction(sessions) as session:
        assert await session.scalar(select(func.count()).select_from(ModelRow)) == 0
        assert await session.scalar(select(func.count()).select_from(VersionRow)) == 0
    assert await catalog.bus.dead_letters(CONSUMER) == []
    response = await catalog.model("alice", "iris", user="root", admin=True)
    assert response.status_code == 404
