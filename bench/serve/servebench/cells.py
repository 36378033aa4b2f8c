"""Lookups over a results document shared by the report and the target checks."""

from __future__ import annotations

from typing import Any

# The "best peer" is the best of these, including the peers' own batching configurations
# (issue 14: the fair claim is against their best configuration, not their defaults).
PEER_NAMES = ("mlflow", "bentoml", "mlserver", "bentoml-batch", "mlserver-batch")
FLOOR = "fastapi"

Cell = dict[str, Any]
CellKey = tuple[int, int]  # (rows per request, concurrency)


def cells_by_server(results: list[dict[str, Any]], model: str) -> dict[str, dict[CellKey, Cell]]:
    table: dict[str, dict[CellKey, Cell]] = {}
    for result in results:
        if result["model"] == model and "cells" in result:
            table[result["server"]] = {(c["rows"], c["concurrency"]): c for c in result["cells"]}
    return table


def best_peer(cells: dict[str, dict[CellKey, Cell]], key: CellKey) -> Cell | None:
    """The peer (MLflow, BentoML, MLServer) with the most req/s in this cell, valid cells only."""
    candidates = [
        {**cells[name][key], "server": name}
        for name in PEER_NAMES
        if name in cells and key in cells[name] and cells[name][key]["valid"]
    ]
    return max(candidates, key=lambda c: c["rps"], default=None)
