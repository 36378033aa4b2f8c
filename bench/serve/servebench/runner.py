"""One server × model: three cold starts, a correctness check, the load cells, idle memory."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servebench import procs
from servebench.client import post_json
from servebench.loadgen import run_wrk, write_script
from servebench.machine import loadavg
from servebench.peers import BenchPaths, Peer


@dataclass(frozen=True)
class Settings:
    duration: int = 12  # seconds per measured cell (the issue asks for 10–15 s)
    warmup: int = 2  # seconds of discarded load before each cell
    cold_runs: int = 3  # cold start is the median of this many fresh launches
    idle_seconds: int = 5  # idle time before reading PSS
    start_timeout: float = 120.0
    row_counts: tuple[int, ...] = (1, 100)
    # (rows per request, concurrent connections); 1-row c=64 and 100-row c=8 since issue 14.
    cells: tuple[tuple[int, int], ...] = ((1, 1), (1, 8), (1, 64), (100, 1), (100, 8))


@dataclass(frozen=True)
class BenchData:
    """Request rows and the predictions each model must return for them (from training)."""

    rows: dict[int, list[list[float]]]
    expected: dict[str, dict[int, list[int]]]

    @classmethod
    def load(cls, path: Path) -> BenchData:
        raw = json.loads(path.read_text())
        return cls(
            rows={int(k): v for k, v in raw["rows"].items()},
            expected={m: {int(k): v for k, v in e.items()} for m, e in raw["expected"].items()},
        )


class ServerError(Exception):
    """The server did not start, or answered wrongly: its cells are invalid."""


def _encode(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _log_tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class ServerUnderTest:
    """One peer serving one model: started (three cold starts), loaded, stopped.

    Its cells are run by `measure_model`, interleaved with the other servers' cells.
    """

    def __init__(
        self,
        peer: Peer,
        model: str,
        data: BenchData,
        paths: BenchPaths,
        settings: Settings,
        registry: procs.PidRegistry,
    ) -> None:
        self.peer, self.model, self.data = peer, model, data
        self.paths, self.settings, self.registry = paths, settings, registry
        self.log = paths.work / "logs" / f"{peer.name}-{model}.log"
        self.result: dict[str, Any] = {"server": peer.name, "model": model, "cells": []}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self) -> None:
        """Cold-start the server `cold_runs` times and keep the last one running."""
        self.log.unlink(missing_ok=True)
        cold: list[float] = []
        cold_cpu: list[float] = []
        try:
            for attempt in range(self.settings.cold_runs):
                process, port, seconds = self._cold_start()
                cold.append(round(seconds, 3))
                cold_cpu.append(round(procs.tree_cpu_seconds(process.pid), 2))
                if attempt < self.settings.cold_runs - 1:
                    procs.stop(process, self.registry)
            self.process, self.port = process, port
            self._check_predictions(port)
        except (ServerError, subprocess.SubprocessError, OSError) as exc:
            self._fail(exc)
            return
        self.result["cold_start_s"] = cold
        self.result["cold_start_median_s"] = statistics.median(cold)
        self.result["cold_start_cpu_s"] = cold_cpu

    def measure_cell(self, rows: int, concurrency: int) -> None:
        if self.process is None:
            return
        try:
            self.result["cells"].append(self._cell(self.process.pid, rows, concurrency))
        except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
            self._fail(exc)

    def measure_idle_memory(self) -> None:
        if self.process is None:
            return
        pss_kib, process_count = procs.tree_pss_kib(self.process.pid)
        self.result["idle_pss_mib"] = round(pss_kib / 1024, 1)
        self.result["idle_processes"] = process_count

    def stop(self) -> None:
        if self.process is not None:
            procs.stop(self.process, self.registry)
            self.process = None

    def _fail(self, exc: BaseException) -> None:
        self.result["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  {self.peer.name} / {self.model} FAILED: {self.result['error']}", flush=True)
        self.stop()

    def _cold_start(self) -> tuple[subprocess.Popen[bytes], int, float]:
        """Start a fresh server; the time runs from process start to first correct answer."""
        launch = self.peer.launch(self.model)
        started = time.monotonic()
        process = procs.start(launch, self.log, self.registry)
        try:
            self._wait_first_prediction(process, launch.port)
        except BaseException:
            procs.stop(process, self.registry)
            raise
        return process, launch.port, time.monotonic() - started

    def _wait_first_prediction(self, process: subprocess.Popen[bytes], port: int) -> None:
        path, body = self._request(1)
        deadline = time.monotonic() + self.settings.start_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerError(f"exited with {process.returncode}:\n{_log_tail(self.log)}")
            try:
                status, document = post_json(port, path, body, timeout=10)
            except OSError as exc:  # not listening yet, or reset while starting
                last = repr(exc)
            else:
                if status == 200:
                    self._assert_correct(1, document)
                    return
                last = f"HTTP {status}: {str(document)[:300]}"
            time.sleep(0.02)
        raise ServerError(f"no prediction within {self.settings.start_timeout}s ({last})")

    def _check_predictions(self, port: int) -> None:
        for rows in self.settings.row_counts:
            path, body = self._request(rows)
            status, document = post_json(port, path, body, timeout=30)
            if status != 200:
                raise ServerError(f"{rows}-row request: HTTP {status}: {str(document)[:300]}")
            self._assert_correct(rows, document)

    def _assert_correct(self, rows: int, document: Any) -> None:
        expected = self.data.expected[self.model][rows]
        try:
            got = self.peer.predictions(document)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ServerError(f"unexpected response shape {str(document)[:300]}") from exc
        if got != expected:
            raise ServerError(f"{rows}-row prediction {got[:10]} != expected {expected[:10]}")

    def _request(self, rows: int) -> tuple[str, bytes]:
        document = self.peer.body(self.model, self.data.rows[rows])
        return self.peer.path(self.model), _encode(document)

    def _cell(self, pid: int, rows: int, concurrency: int) -> dict[str, Any]:
        path, body = self._request(rows)
        script = write_script(
            self.paths.work / "lua", f"{self.peer.name}-{self.model}-{rows}", path, body
        )
        run_wrk(script, self.port, concurrency, self.settings.warmup)
        load_before = loadavg()
        cpu_before = procs.tree_cpu_seconds(pid)
        cell = run_wrk(script, self.port, concurrency, self.settings.duration)
        cpu_used = procs.tree_cpu_seconds(pid) - cpu_before
        cpu_ms = round(cpu_used * 1000 / cell.requests, 3) if cell.requests else None
        print(
            f"  {self.peer.name:9} {self.model:6} rows={rows:<3} c={concurrency}: "
            f"{cell.rps:8.1f} req/s  p50 {cell.p50_ms:7.2f} ms  p99 {cell.p99_ms:7.2f} ms  "
            f"server CPU {cpu_ms} ms/req"
            f"{'' if cell.valid else '  INVALID ' + str(cell.errors)}",
            flush=True,
        )
        return {
            "rows": rows,
            "concurrency": concurrency,
            "loadavg_before": load_before,
            "server_cpu_ms_per_request": cpu_ms,
            **cell.to_json(),
        }


def measure_model(servers: list[ServerUnderTest], settings: Settings) -> None:
    """Measure every server on one model, cell by cell.

    All servers stay up for the whole model, and each cell is measured for every server back
    to back (in a rotating order), so a burst of other people's load on this shared machine
    hits one cell of several servers rather than every cell of one server.
    """
    try:
        for server in servers:
            print(f"== {server.peer.name} / {server.model}: cold starts", flush=True)
            server.start()
            if server.running:
                print(f"  cold start {server.result['cold_start_s']} s", flush=True)
        for index, (rows, concurrency) in enumerate(settings.cells):
            shift = index % len(servers)
            for server in servers[shift:] + servers[:shift]:
                server.measure_cell(rows, concurrency)
        time.sleep(settings.idle_seconds)
        for server in servers:
            server.measure_idle_memory()
            if server.running:
                print(f"  {server.peer.name} idle PSS {server.result['idle_pss_mib']} MiB")
    finally:
        for server in servers:
            server.stop()
