"""The Debian packages of DependenciesResolved are stored on the version and returned in its
detail, on real Postgres (catalog migration 0014, docs/system-packages.md)."""

from __future__ import annotations

from catalog_events import RunningCatalog, headers, resolved, uploaded
from modelbay_common.events import SystemPackage

PACKAGES = (
    SystemPackage(
        name="libgomp1",
        version="12.2.0-14",
        reasons=("libgomp.so.1 for lightgbm",),
    ),
    SystemPackage(name="libsndfile1", version="1.2.0-1", reasons=("declared",)),
    SystemPackage(
        name="gcc-12-base", version="12.2.0-14", reasons=("dependency of libgomp1",), fetched=False
    ),
)


async def test_the_resolved_system_packages_are_shown_on_the_version(
    catalog: RunningCatalog,
) -> None:
    with_packages = resolved("alice", "gbm").model_copy(
        update={"system_packages": PACKAGES, "system_packages_uri": "s3://modelbay/debs/x.tar"}
    )
    await catalog.deliver(
        uploaded("alice", "gbm"),
        with_packages,
        uploaded("alice", "gbm", 2),
        resolved("alice", "gbm", 2),
    )

    first = await catalog.client.get(
        "/internal/models/alice/gbm/versions/1", headers=headers("alice")
    )
    assert first.status_code == 200, first.text
    assert first.json()["system_packages"] == [
        {
            "name": "libgomp1",
            "version": "12.2.0-14",
            "reasons": ["libgomp.so.1 for lightgbm"],
            "fetched": True,
        },
        {"name": "libsndfile1", "version": "1.2.0-1", "reasons": ["declared"], "fetched": True},
        {
            "name": "gcc-12-base",
            "version": "12.2.0-14",
            "reasons": ["dependency of libgomp1"],
            "fetched": False,
        },
    ]
    # A version whose wheels need nothing beyond the base image: an empty list, never null.
    second = await catalog.client.get(
        "/internal/models/alice/gbm/versions/2", headers=headers("alice")
    )
    assert second.status_code == 200, second.text
    assert second.json()["system_packages"] == []


async def test_a_redelivered_resolution_keeps_one_copy_of_the_packages(
    catalog: RunningCatalog,
) -> None:
    event = resolved("bob", "gbm").model_copy(update={"system_packages": PACKAGES[:1]})
    await catalog.deliver(uploaded("bob", "gbm"), event, event)

    detail = await catalog.client.get("/internal/models/bob/gbm/versions/1", headers=headers("bob"))
    assert detail.status_code == 200, detail.text
    assert [package["name"] for package in detail.json()["system_packages"]] == ["libgomp1"]
