"""Issue 5's targets for the Modelbay runtime, checked against one results document."""

from __future__ import annotations

import statistics
from typing import Any

from servebench.cells import best_peer, cells_by_server
from servebench.targets_issue14 import issue14_rows

SUBJECT = "modelbay"
COLD_START_TARGET_S = 1.5
PSS_TARGET_MIB = 150e6 / 2**20  # the issue says 150 MB; PSS is read in KiB


def _cell(document: dict[str, Any], server: str, model: str, key: tuple[int, int]) -> Any:
    for result in document["results"]:
        if result["server"] == server and result["model"] == model:
            for cell in result.get("cells", []):
                if (cell["rows"], cell["concurrency"]) == key and cell["valid"]:
                    return cell
    return None


def _result(document: dict[str, Any], server: str, model: str) -> Any:
    for result in document["results"]:
        if result["server"] == server and result["model"] == model and "error" not in result:
            return result
    return None


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[ok]


def _throughput_rf(document: dict[str, Any]) -> list[str]:
    best = best_peer(cells_by_server(document["results"], "rf"), (1, 8))
    mine = _cell(document, SUBJECT, "rf", (1, 8))
    if best is None:
        return ["| RF 1-row c=8 ≥ 4× best peer, p99 no worse | no valid peer cell | — |"]
    need = f"need ≥ {4 * best['rps']:.0f} req/s, p99 ≤ {best['p99_ms']:.1f} ms ({best['server']})"
    if mine is None:
        return [f"| RF 1-row c=8 ≥ 4× best peer, p99 no worse | {need} | not measured |"]
    ok = mine["rps"] >= 4 * best["rps"] and mine["p99_ms"] <= best["p99_ms"]
    got = (
        f"{mine['rps']:.0f} req/s = {mine['rps'] / best['rps']:.2f}× {best['server']}, "
        f"p99 {mine['p99_ms']:.1f} vs {best['p99_ms']:.1f} ms"
    )
    return [f"| RF 1-row c=8 ≥ 4× best peer, p99 no worse | {got} ({need}) | {_verdict(ok)} |"]


def _throughput_logreg(document: dict[str, Any]) -> list[str]:
    floor = _cell(document, "fastapi", "logreg", (1, 1))
    mlflow = _cell(document, "mlflow", "logreg", (1, 1))
    mine = _cell(document, SUBJECT, "logreg", (1, 1))
    if floor is None or mlflow is None:
        return ["| LogReg 1-row c=1 ≥ floor and ≥ 2× MLflow | missing floor/MLflow cell | — |"]
    need = max(floor["rps"], 2 * mlflow["rps"])
    if mine is None:
        return [
            f"| LogReg 1-row c=1 ≥ floor and ≥ 2× MLflow | need ≥ {need:.0f} req/s "
            f"(floor {floor['rps']:.0f}, MLflow {mlflow['rps']:.0f}) | not measured |"
        ]
    got = (
        f"{mine['rps']:.0f} req/s = {mine['rps'] / floor['rps']:.2f}× floor, "
        f"{mine['rps'] / mlflow['rps']:.2f}× MLflow"
    )
    return [
        f"| LogReg 1-row c=1 ≥ floor and ≥ 2× MLflow | {got} | {_verdict(mine['rps'] >= need)} |"
    ]


def _startup(document: dict[str, Any]) -> list[str]:
    lines = []
    for model in ("rf", "logreg"):
        result = _result(document, SUBJECT, model)
        if result is None:
            lines.append(f"| cold start ≤ {COLD_START_TARGET_S} s ({model}) | — | not measured |")
            lines.append(f"| idle PSS ≤ 150 MB ({model}) | — | not measured |")
            continue
        cold = result["cold_start_median_s"]
        pss = result["idle_pss_mib"]
        cpu_runs = result.get("cold_start_cpu_s")
        cpu = f" (server CPU {statistics.median(cpu_runs):.2f} s)" if cpu_runs else ""
        lines.append(
            f"| cold start ≤ {COLD_START_TARGET_S} s ({model}) | {cold:.2f} s{cpu} | "
            f"{_verdict(cold <= COLD_START_TARGET_S)} |"
        )
        lines.append(
            f"| idle PSS ≤ 150 MB ({model}) | {pss * 2**20 / 1e6:.0f} MB "
            f"({pss:.0f} MiB) | {_verdict(pss <= PSS_TARGET_MIB)} |"
        )
    return lines


def targets_table(document: dict[str, Any]) -> list[str]:
    return [
        "### Targets (issues 5 and 14)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *_throughput_rf(document),
        *_throughput_logreg(document),
        *_startup(document),
        *issue14_rows(document),
        "",
    ]
