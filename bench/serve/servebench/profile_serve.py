"""Where the runtime's time goes at RF 1-row c=8 / c=64 (issue 14): yappi, CPU clock, all threads.

A side script, not a benchmark: the server runs in this process (uvicorn + the runtime's app, as
`serve` runs it) under yappi while wrk drives it from outside; then the functions with the most
CPU of their own (`tsub`) are printed per thread, so the event loop (MainThread: HTTP parsing,
JSON codec, merge/split, the hand-off) and the model thread (`model_0`: the codec's dict →
numpy, scikit-learn) are seen apart. yappi is not a project dependency; run it from a throwaway
venv that has the runtime, the bench's model stack and yappi:

    uv venv /tmp/prof && uv pip install --python /tmp/prof/bin/python \\
        -r bench/serve/requirements/common.txt yappi './libs/runtime[server]'
    cd bench/serve && /tmp/prof/bin/python -m servebench.profile_serve work 64 10 [off]

With the default `--model-process auto` the model runs in its own process (issue 14, session
4), which yappi does not see: the profile is then the event loop's alone (our request path and
uvicorn's). Pass `off` to profile the model in a thread beside the loop, as before.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from servebench.client import free_port, post_json
from servebench.loadgen import run_wrk, write_script

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def _drive(port: int, work: Path, concurrency: int, seconds: int, server: Any, out: dict) -> None:
    data = json.loads((work / "data.json").read_text())
    row = data["rows"]["1"]
    body = json.dumps({name: [r[i] for r in row] for i, name in enumerate(FEATURES)}).encode()
    for _ in range(600):
        try:
            if post_json(port, "/model/methods/classify", body, timeout=5)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    script = write_script(work / "lua", "profile", "/model/methods/classify", body)
    import yappi

    yappi.clear_stats()
    yappi.start(builtins=False, profile_threads=True)
    out["cell"] = run_wrk(script, port, concurrency, seconds).to_json()
    yappi.stop()
    server.should_exit = True


def main(work: Path, concurrency: int, seconds: int, model_process: str = "auto") -> None:
    import uvicorn
    import yappi
    from modelbay_runtime.server.app import create_app
    from modelbay_runtime.server.settings import RuntimeSettings

    yappi.set_clock_type("cpu")
    port = free_port()
    settings = RuntimeSettings(
        bundle_dir=str(work / "modelbay" / "rf"), port=port, model_process=model_process
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, loop="auto", http="auto",
        access_log=False, log_level="warning", lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    out: dict[str, Any] = {}
    driver = threading.Thread(
        target=_drive, args=(port, work, concurrency, seconds, server, out), daemon=True
    )
    driver.start()
    server.run()
    cell = out["cell"]
    print(
        f"c={concurrency}: {cell['rps']:.0f} req/s, p50 {cell['p50_ms']} ms, "
        f"p99 {cell['p99_ms']} ms (under yappi: slower than unprofiled)"
    )
    names = {t.id: t.name for t in yappi.get_thread_stats()}
    for thread in yappi.get_thread_stats():
        print(f"thread {thread.name}: {thread.ttot:.2f} s CPU")
    stats = yappi.get_func_stats()
    by_thread: dict[str, list[Any]] = {}
    for stat in stats:
        by_thread.setdefault(names.get(stat.ctx_id, str(stat.ctx_id)), []).append(stat)
    for thread_name, rows in by_thread.items():
        total = sum(s.tsub for s in rows) or 1.0
        print(f"\n== {thread_name}: top functions by own CPU (tsub), share of the thread")
        for stat in sorted(rows, key=lambda s: s.tsub, reverse=True)[:18]:
            where = f"{Path(stat.module).name}:{stat.lineno}"
            print(f"  {stat.tsub / total:6.1%}  {stat.ncall:8d} calls  {stat.name}  ({where})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])
