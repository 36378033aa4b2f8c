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
    concurrencies: tuple[int, ...] = (1, 8)


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


class Measurement:
    """Measures one peer serving one model; every process it starts is stopped again."""

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

    def run(self) -> dict[str, Any]:
        result: dict[str, Any] = {"server": self.peer.name, "model": self.model}
        self.log.unlink(missing_ok=True)
        try:
            cold: list[float] = []
            cold_cpu: list[float] = []
            for attempt in range(self.settings.cold_runs):
                process, port, seconds = self._cold_start()
                cold.append(round(seconds, 3))
                cold_cpu.append(round(procs.tree_cpu_seconds(process.pid), 2))
                if attempt < self.settings.cold_runs - 1:
                    procs.stop(process, self.registry)
            result["cold_start_s"] = cold
            result["cold_start_median_s"] = statistics.median(cold)
            result["cold_start_cpu_s"] = cold_cpu
            try:
                self._check_predictions(port)
                result["cells"] = [
                    self._cell(process.pid, port, rows, concurrency)
                    for rows in self.settings.row_counts
                    for concurrency in self.settings.concurrencies
                ]
                time.sleep(self.settings.idle_seconds)
                pss_kib, process_count = procs.tree_pss_kib(process.pid)
                result["idle_pss_mib"] = round(pss_kib / 1024, 1)
                result["idle_processes"] = process_count
            finally:
                procs.stop(process, self.registry)
        except (ServerError, subprocess.SubprocessError, OSError) as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        return result

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

    def _cell(self, pid: int, port: int, rows: int, concurrency: int) -> dict[str, Any]:
        path, body = self._request(rows)
        script = write_script(
            self.paths.work / "lua", f"{self.peer.name}-{self.model}-{rows}", path, body
        )
        run_wrk(script, port, concurrency, self.settings.warmup)
        load_before = loadavg()
        cpu_before = procs.tree_cpu_seconds(pid)
        cell = run_wrk(script, port, concurrency, self.settings.duration)
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
