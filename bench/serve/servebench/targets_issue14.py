"""Issue 14's serving targets, checked against one results document (ratios of the same run)."""

from __future__ import annotations

from typing import Any

from servebench.cells import best_peer, cells_by_server

SUBJECT = "modelbay"
ASYNC_FLOOR = "fastapi-async"


def _cell(cells: dict[str, dict[tuple[int, int], Any]], server: str, key: tuple[int, int]) -> Any:
    cell = cells.get(server, {}).get(key)
    return cell if cell is not None and cell["valid"] else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def issue14_rows(document: dict[str, Any]) -> list[str]:
    cells = cells_by_server(document["results"], "rf")
    rows: list[str] = []
    mine, floor = _cell(cells, SUBJECT, (100, 8)), _cell(cells, ASYNC_FLOOR, (100, 8))
    if mine is not None and floor is not None:
        ratio = mine["rps"] / floor["rps"]
        rows.append(
            f"| RF 100-row c=8 ≥ 3× the `async def` floor | {mine['rps']:.0f} vs "
            f"{floor['rps']:.0f} req/s = {ratio:.2f}× | {_verdict(ratio >= 3)} |"
        )
    for concurrency in (8, 64):
        key = (1, concurrency)
        best, mine = best_peer(cells, key), _cell(cells, SUBJECT, key)
        if best is None or mine is None:
            continue
        ratio = mine["rps"] / best["rps"]
        rows.append(
            f"| RF 1-row c={concurrency} ≥ 4× the best peer (batching on or off) | "
            f"{mine['rps']:.0f} req/s = {ratio:.2f}× {best['server']} ({best['rps']:.0f}) | "
            f"{_verdict(ratio >= 4)} |"
        )
    mine = _cell(cells, SUBJECT, (1, 64))
    if mine is not None:
        ok = mine["rps"] >= 12_000 and mine["p99_ms"] <= 25
        rows.append(
            f"| RF 1-row c=64 ≥ 12,000 rows/s, p99 ≤ 25 ms | {mine['rps']:.0f} rows/s, "
            f"p99 {mine['p99_ms']:.1f} ms | {_verdict(ok)} |"
        )
    return rows
