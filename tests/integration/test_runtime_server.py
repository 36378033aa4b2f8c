"""The runtime server as a real process: `python -m modelbay_runtime serve` (uvicorn) on a free
loopback port, serving a real bundle made by `modelbay.dump` from the paper's Fig. 2 iris
RandomForest. Predictions are compared with the fitted estimator called directly."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FileDescriptorSet

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


@dataclass(frozen=True)
class IrisBundle:
    path: Path
    estimator: Any
    data: np.ndarray


@dataclass(frozen=True)
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    bundle: IrisBundle


def build_iris_bundle(target: Path) -> IrisBundle:
    import modelbay
    from modelbay import List, Model, create_namedtuple
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    iris = load_iris()
    clf = RandomForestClassifier(n_estimators=100, random_state=0).fit(iris.data, iris.target)
    # Message classes, named as in the paper's Fig. 2.
    Input = create_namedtuple("Input", [(name, List[float]) for name in FEATURES])  # noqa: N806
    Output = create_namedtuple("Output", [("IrisType", List[int])])  # noqa: N806

    def classify(df: Input) -> Output:  # type: ignore[valid-type]
        return Output(IrisType=clf.predict(np.column_stack(df)))

    # This module uses postponed annotations; give the SDK the real classes, as a notebook would.
    classify.__annotations__ = {"df": Input, "return": Output}

    sample = {name: [float(iris.data[0][i])] for i, name in enumerate(FEATURES)}
    model = Model(classify=classify, samples={"classify": [sample]})
    path = modelbay.dump(model, "iris", target)
    return IrisBundle(path, clf, iris.data)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(bundle: IrisBundle, *args: str) -> RunningServer:
    port = free_port()
    argv = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundle.path)]
    argv += ["--host", "127.0.0.1", "--port", str(port), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_RUNTIME_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # generous: the machine is shared; not an assertion
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the runtime server exited early ({process.returncode}):\n{output}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return RunningServer(url, process, bundle)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(process)
    pytest.fail("the runtime server did not become ready within 120 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def iris_bundle(tmp_path_factory: pytest.TempPathFactory) -> IrisBundle:
    return build_iris_bundle(tmp_path_factory.mktemp("bundle") / "iris")


@pytest.fixture(scope="module")
def server(iris_bundle: IrisBundle) -> Iterator[RunningServer]:
    running = start_server(iris_bundle, "--warmup")
    yield running
    stop(running.process)


def payload_of(rows: np.ndarray) -> dict[str, list[float]]:
    return {name: [float(v) for v in rows[:, i]] for i, name in enumerate(FEATURES)}


def message_class(descriptor_set: bytes, name: str) -> Any:
    pool = descriptor_pool.DescriptorPool()
    for file_proto in FileDescriptorSet.FromString(descriptor_set).file:
        pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def test_json_prediction_matches_the_estimator(server: RunningServer) -> None:
    rows = server.bundle.data[::10]
    response = httpx.post(server.url + "/model/methods/classify", json=payload_of(rows))
    assert response.status_code == 200
    assert response.json() == {"IrisType": server.bundle.estimator.predict(rows).tolist()}


def test_protobuf_prediction_matches_the_estimator(server: RunningServer) -> None:
    metadata = httpx.get(server.url + "/model/metadata").json()
    method = metadata["methods"]["classify"]
    descriptor_set = (server.bundle.path / "model.descriptor.pb").read_bytes()
    request_class = message_class(descriptor_set, method["input_message"])
    response_class = message_class(descriptor_set, method["output_message"])
    rows = server.bundle.data[5::7]
    response = httpx.post(
        server.url + "/model/methods/classify",
        content=request_class(**payload_of(rows)).SerializeToString(),
        headers={"content-type": "application/vnd.google.protobuf"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.google.protobuf"
    labels = list(response_class.FromString(response.content).IrisType)
    assert labels == server.bundle.estimator.predict(rows).tolist()


def test_openapi_proto_and_metadata_describe_the_real_signature(server: RunningServer) -> None:
    document = httpx.get(server.url + "/openapi.json").json()
    proto = httpx.get(server.url + "/model/proto").text
    content = document["paths"]["/model/methods/classify"]["post"]["requestBody"]["content"]
    ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = document["components"]["schemas"][ref]
    assert set(schema["properties"]) == set(FEATURES)
    assert "application/x-protobuf" in content
    assert "sepal_length" in proto
    assert "IrisType" in proto
    assert "scikit-learn" in " ".join(
        httpx.get(server.url + "/model/metadata").json()["requirements"]
    )


async def test_fifty_concurrent_requests_match_unbatched_predictions(server: RunningServer) -> None:
    rng = np.random.default_rng(5)
    data = server.bundle.data
    requests = [data[rng.choice(len(data), size=int(rng.integers(1, 12)))] for _ in range(50)]
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.post("/model/methods/classify", json=payload_of(rows)) for rows in requests)
        )
        metrics = (await client.get("/metrics")).text
    for rows, response in zip(requests, responses, strict=True):
        assert response.status_code == 200
        assert response.json()["IrisType"] == server.bundle.estimator.predict(rows).tolist()
    assert 'modelbay_batch_rows_count{method="classify"}' in metrics


def test_bad_input_is_4xx_problem_json_on_the_real_server(server: RunningServer) -> None:
    url = server.url + "/model/methods/classify"
    good = payload_of(server.bundle.data[:2])
    cases = {
        "wrong type": httpx.post(url, json={**good, "sepal_width": ["a", "b"]}),
        "unknown field": httpx.post(url, json={**good, "stem": [1.0, 2.0]}),
        "missing field": httpx.post(
            url, json={k: v for k, v in good.items() if k != "petal_width"}
        ),
        "malformed json": httpx.post(
            url, content=b"{", headers={"content-type": "application/json"}
        ),
        "malformed protobuf": httpx.post(
            url, content=b"\xff\xff\xff", headers={"content-type": "application/x-protobuf"}
        ),
        "huge body": httpx.post(
            url,
            content=b"[" + b"1," * 6_000_000 + b"1]",
            headers={"content-type": "application/json"},
        ),
        "wrong content type": httpx.post(url, content=b"x", headers={"content-type": "text/csv"}),
        "unknown method": httpx.post(server.url + "/model/methods/nope", json=good),
    }
    expected = {"wrong type": 422, "unknown field": 422, "missing field": 422, "huge body": 413}
    expected |= {"malformed json": 400, "malformed protobuf": 400, "wrong content type": 415}
    expected |= {"unknown method": 404}
    for case, response in cases.items():
        assert response.status_code == expected[case], (case, response.text)
        assert response.headers["content-type"] == "application/problem+json", case
    assert cases["wrong type"].json()["field"] == "sepal_width[0]"
    assert cases["missing field"].json()["field"] == "petal_width"


def test_tritonclient_json_and_binary_inference(server: RunningServer) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("iris")
    metadata = client.get_model_metadata("iris")
    assert [i["name"] for i in metadata["inputs"]] == list(FEATURES)
    rows = server.bundle.data[::15]
    expected = server.bundle.estimator.predict(rows).tolist()
    for binary in (False, True):
        inputs = []
        for i, name in enumerate(FEATURES):
            tensor = triton.InferInput(name, [len(rows)], "FP64")
            tensor.set_data_from_numpy(np.ascontiguousarray(rows[:, i]), binary_data=binary)
            inputs.append(tensor)
        outputs = [triton.InferRequestedOutput("IrisType", binary_data=binary)]
        result = client.infer("iris", inputs, outputs=outputs)
        assert result.as_numpy("IrisType").tolist() == expected
    # FP32 from a client works too (widened to the FP64 columns)
    inputs = []
    for i, name in enumerate(FEATURES):
        tensor = triton.InferInput(name, [len(rows)], "FP32")
        tensor.set_data_from_numpy(rows[:, i].astype(np.float32))
        inputs.append(tensor)
    assert client.infer("iris", inputs).as_numpy("IrisType").tolist() == expected
    with pytest.raises(triton.InferenceServerException, match="unknown model"):
        client.infer("tulip", inputs)


def test_two_workers_each_load_the_model_and_share_metrics(iris_bundle: IrisBundle) -> None:
    running = start_server(iris_bundle, "--workers", "2")
    try:
        rows = iris_bundle.data[:3]
        expected = iris_bundle.estimator.predict(rows).tolist()
        for _ in range(20):
            response = httpx.post(running.url + "/model/methods/classify", json=payload_of(rows))
            assert response.json()["IrisType"] == expected
        metrics = httpx.get(running.url + "/metrics").text
    finally:
        stop(running.process)
    # multiprocess collection sums both workers' counters, whichever worker answered
    line = next(
        m
        for m in metrics.splitlines()
        if m.startswith("modelbay_requests_total{") and 'status="200"' in m
    )
    assert float(line.rsplit(" ", 1)[1]) == 20.0
