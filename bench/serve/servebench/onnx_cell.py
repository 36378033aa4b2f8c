"""The cell "ONNX model vs onnxruntime in-process" (issue 14; target: overhead ≤ 0.3 ms p50).

One ONNX graph, three ways, interleaved round by round so that a change of machine load hits all
three alike:

- `onnxruntime`: `InferenceSession.run` called in this process (the floor: no serving at all);
- `runtime-call`: the same graph through the Modelbay runtime's `LoadedMethod.call` in this
  process (JSON-shaped dict → codec → onnxruntime → dict: what serving adds before HTTP);
- `server`: `python -m modelbay_runtime serve BUNDLE` as its own process, driven by wrk at
  concurrency 1 with the same 1-row JSON body (what a client sees; wrk's own cost included);
- `python-server`: the same scorer written with numpy as a Python model, served and driven the
  same way: the server's own cost for any model, so `server − python-server` is what being an
  ONNX model adds over HTTP (measured side by side, so the machine's load cancels out).

Overhead = p50(server) − p50(onnxruntime), each p50 the median over the rounds. Runs in the
workspace venv (it has the SDK to write the bundle, the runtime server and onnxruntime):

    .tools/bin/uv run --frozen python -m servebench onnx --work bench/serve/work  (cwd bench/serve)
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from servebench import machine
from servebench.client import free_port, post_json
from servebench.loadgen import run_wrk, write_script, wrk_version

ROUNDS = 7
CALLS_PER_ROUND = 2000
FEATURES = [[0.5, -1.0, 2.0, 0.25]]


def _graph(path: Path) -> Path:
    """The linear scorer of the tests (sigmoid(xW + b) and its argmax), written here so the
    bench does not import the test tree."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(4, 3)
    nodes = [
        helper.make_node("MatMul", ["features", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "B"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "bench_scorer",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        ],
        initializer=[
            numpy_helper.from_array(weights, "W"),
            numpy_helper.from_array(np.zeros(3, np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, str(path))
    return path


def _python_scorer() -> Any:
    """The graph's scores as a Python model (numpy), for the server-cost baseline."""
    from typing import Annotated

    import numpy as np
    from modelbay import Model
    from modelbay_runtime.types import ArraySpec

    weights = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(4, 3)

    def predict(features: Any) -> Any:
        return 1.0 / (1.0 + np.exp(-(features @ weights)))

    # Set as objects: this module's `from __future__ import annotations` would make them text.
    predict.__annotations__ = {
        "features": Annotated[Any, ArraySpec("float32", (None, 4))],
        "return": Annotated[Any, ArraySpec("float32", (None, 3))],
    }
    return Model(predict=predict, samples={"predict": [{"features": FEATURES}]})


def _p50_in_process(call: Any) -> float:
    """Median latency in ms of `call()` over CALLS_PER_ROUND calls (after 200 warm-up calls)."""
    for _ in range(200):
        call()
    samples = []
    for _ in range(CALLS_PER_ROUND):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1e6


def _start_server(bundle: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundle), "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            body = json.dumps({"features": FEATURES}).encode()
            status, _ = post_json(port, "/model/methods/predict", body, timeout=5)
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    _stop(process)
    raise RuntimeError(f"the model server did not answer within 60 s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def measure(work: Path, seconds: int) -> dict[str, Any]:
    import numpy as np
    import onnxruntime
    from modelbay import Model, dump
    from modelbay_runtime.loader import load_bundle

    facts = machine.machine_facts()  # load average before the run
    work.mkdir(parents=True, exist_ok=True)
    source = _graph(work / "bench_scorer.onnx")
    bundle = dump(Model.from_onnx(source), "bench_scorer", work / "onnx-bundle", replace=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # as the runtime opens it (onnx_model.open_session)
    session = onnxruntime.InferenceSession(
        str(source), sess_options=options, providers=["CPUExecutionProvider"]
    )
    rows = np.array(FEATURES, np.float32)
    method = load_bundle(bundle).methods["predict"]
    payload = {"features": FEATURES}
    script = write_script(
        work / "lua", "onnx", "/model/methods/predict", json.dumps(payload).encode()
    )
    rounds: dict[str, list[float]] = {
        "onnxruntime": [],
        "runtime-call": [],
        "server": [],
        "python-server": [],
    }
    python_bundle = dump(_python_scorer(), "bench_numpy", work / "python-bundle", replace=True)
    port, python_port = free_port(), free_port()
    process = _start_server(bundle, port, work / "onnx-server.log")
    python_process = _start_server(python_bundle, python_port, work / "python-server.log")
    try:
        run_wrk(script, port, 1, 2)  # warm-up, discarded
        run_wrk(script, python_port, 1, 2)
        for _ in range(ROUNDS):
            rounds["onnxruntime"].append(
                _p50_in_process(lambda: session.run(None, {"features": rows}))
            )
            rounds["runtime-call"].append(_p50_in_process(lambda: method.call(payload)))
            cell = run_wrk(script, port, 1, seconds)
            if not cell.valid:
                raise RuntimeError(f"wrk saw errors against the ONNX model: {cell.errors}")
            rounds["server"].append(cell.p50_ms)
            baseline = run_wrk(script, python_port, 1, seconds)
            if not baseline.valid:
                raise RuntimeError(f"wrk saw errors against the numpy model: {baseline.errors}")
            rounds["python-server"].append(baseline.p50_ms)
    finally:
        _stop(process)
        _stop(python_process)
    p50 = {name: round(statistics.median(values), 4) for name, values in rounds.items()}
    return {
        "cell": "onnx-vs-onnxruntime",
        "rows": 1,
        "concurrency": 1,
        "rounds": ROUNDS,
        "wrk_seconds_per_round": seconds,
        "p50_ms": p50,
        "p50_ms_per_round": rounds,
        "overhead_p50_ms": round(p50["server"] - p50["onnxruntime"], 4),
        "onnx_vs_python_server_p50_ms": round(p50["server"] - p50["python-server"], 4),
        # The least disturbed round: on a shared machine the median carries others' load.
        "best_round_overhead_p50_ms": round(
            min(rounds["server"]) - statistics.median(rounds["onnxruntime"]), 4
        ),
        "target_overhead_p50_ms": 0.3,
        "onnxruntime_version": onnxruntime.__version__,
        "wrk": wrk_version(),
        "machine": facts,
        "loadavg_at_end": machine.loadavg(),
    }
