"""Which registry manifests the builder's garbage collector takes (gc.py): pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelbay_builder.gc import _manifest_size, _reclaimable
from modelbay_builder.store_gc import BuiltImage
from modelbay_common.contracts.gc import DeadVersion, GcRequest

NOW = datetime(2026, 12, 7, tzinfo=UTC)
OLD = NOW - timedelta(days=2)


def _request(*dead: tuple[str, int]) -> GcRequest:
    versions = [DeadVersion(owner="a", name=n, version=v, reason="failed") for n, v in dead]
    return GcRequest(dead=versions, dry_run=True, grace_seconds=3600)


def test_the_builder_takes_dead_images_only_when_no_live_version_shares_them() -> None:
    images = [
        BuiltImage("a", "m", 1, "sha256:one", OLD),  # dead, alone: goes
        BuiltImage("a", "m", 2, "sha256:two", OLD),  # dead, shares with live 3: stays
        BuiltImage("a", "m", 3, "sha256:two", OLD),
        BuiltImage("a", "m", 4, "sha256:four", NOW),  # dead but young: stays, counted
        BuiltImage("a", "m", 5, "sha256:five", None),  # dead, never finished: young
        BuiltImage("a", "n", 1, "sha256:six", OLD),  # live
    ]
    request = _request(("m", 1), ("m", 2), ("m", 4), ("m", 5))
    chosen, young = _reclaimable(images, request, NOW - timedelta(hours=1))  # the cutoff
    assert chosen == [("a/m", "sha256:one")]
    assert young == 2


def test_a_manifest_size_is_its_config_and_layers() -> None:
    manifest = {"config": {"size": 10}, "layers": [{"size": 100}, {"size": 1000}]}
    assert _manifest_size(manifest) == 1110
    assert _manifest_size({"manifests": [{"size": 7}, {"size": 8}]}) == 15
    assert _manifest_size("not a manifest") == 0
