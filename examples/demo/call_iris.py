"""Call a running Fig. 2 iris model over JSON and over protobuf, as an application would.

    python examples/demo/call_iris.py http://127.0.0.1:8080

JSON needs nothing but HTTP. For protobuf the client takes the model's own interface from the
running model (`GET /model/proto`), compiles it with protoc (the `grpcio-tools` package) into a
descriptor set, and uses dynamic message classes: no generated code to keep in sync.
Prints the predictions of both encodings for a few flowers and exits non-zero if they differ.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

METHOD = "classify"
SPECIES = ("setosa", "versicolor", "virginica")
FLOWERS = {  # one flower per row: sepal length, sepal width, petal length, petal width (cm)
    "sepal_length": [5.1, 6.4, 6.7, 5.9],
    "sepal_width": [3.5, 3.2, 3.0, 3.0],
    "petal_length": [1.4, 4.5, 5.2, 4.2],
    "petal_width": [0.2, 1.5, 2.3, 1.5],
}


def call_json(client: httpx.Client) -> list[int]:
    response = client.post(f"/model/methods/{METHOD}", json=FLOWERS)
    response.raise_for_status()
    return [int(label) for label in response.json()["IrisType"]]


def message_classes(proto_text: str) -> dict[str, type[Message]]:
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "model.proto").write_text(proto_text)
        out = Path(work) / "model.desc"
        if protoc.main(["protoc", f"-I{work}", f"--descriptor_set_out={out}", "model.proto"]):
            raise SystemExit("protoc could not compile the model's proto")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return dict(message_factory.GetMessages(list(files), pool=descriptor_pool.DescriptorPool()))


def call_protobuf(client: httpx.Client) -> list[int]:
    classes = message_classes(client.get("/model/proto").text)
    method: dict[str, Any] = client.get("/model/metadata").json()["methods"][METHOD]
    request = classes[method["input_message"]](**FLOWERS)
    media_type = "application/x-protobuf"
    response = client.post(
        f"/model/methods/{METHOD}",
        content=request.SerializeToString(),
        headers={"Content-Type": media_type, "Accept": media_type},
    )
    response.raise_for_status()
    answer = classes[method["output_message"]].FromString(response.content)
    return [int(label) for label in getattr(answer, "IrisType")]  # noqa: B009 - proto field


def main(url: str) -> int:
    with httpx.Client(base_url=url, timeout=30) as client:
        over_json = call_json(client)
        over_protobuf = call_protobuf(client)
    print(f"{'sepal l/w':>11} {'petal l/w':>11}   JSON         protobuf")
    for row, (by_json, by_proto) in enumerate(zip(over_json, over_protobuf, strict=True)):
        sepal = f"{FLOWERS['sepal_length'][row]}/{FLOWERS['sepal_width'][row]}"
        petal = f"{FLOWERS['petal_length'][row]}/{FLOWERS['petal_width'][row]}"
        print(f"{sepal:>11} {petal:>11}   {SPECIES[by_json]:<12} {SPECIES[by_proto]}")
    if over_json != over_protobuf:
        print("JSON and protobuf answers differ!", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1]))
