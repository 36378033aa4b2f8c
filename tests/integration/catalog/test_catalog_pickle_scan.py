"""The pickle scan travels from ModelUploaded to the version detail, on real Postgres."""

from __future__ import annotations

from catalog_events import RunningCatalog, headers, uploaded
from modelbay_common.events import PickleScan


async def test_the_scan_in_model_uploaded_is_shown_on_the_version(catalog: RunningCatalog) -> None:
    scan = PickleScan(
        status="flagged",
        globals=("builtins.eval", "numpy.ndarray"),
        flagged=("builtins.eval",),
        allowed=("builtins.eval",),
    )
    event = uploaded("alice", "iris").model_copy(update={"pickle_scan": scan})
    await catalog.deliver(event, uploaded("alice", "iris", 2))

    first = await catalog.client.get(
        "/internal/models/alice/iris/versions/1", headers=headers("alice")
    )
    assert first.status_code == 200, first.text
    assert first.json()["pickle_scan"] == {
        "status": "flagged",
        "globals": ["builtins.eval", "numpy.ndarray"],
        "flagged": ["builtins.eval"],
        "blocked": [],
        "allowed": ["builtins.eval"],
    }
    # An event from a producer that predates scanning: no scan, said as null.
    second = await catalog.client.get(
        "/internal/models/alice/iris/versions/2", headers=headers("alice")
    )
    assert second.json()["pickle_scan"] is None
