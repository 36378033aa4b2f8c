"""Writes the test fixture tests/fixtures/pytorch/: the exported graph and torch's own answers.

`tests/unit/runtime/test_pytorch_onnx_fixture.py` serves the graph with the model server and
compares its answers with these, so the route of push_onnx.py stays tested without torch in
the project. Re-run after changing iris_mlp.py or the exporter (run from this directory):

    python make_test_fixture.py ../../tests/fixtures/pytorch
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from iris_mlp import iris_like, train_mlp
from push_onnx import SAMPLE_ROWS, export

ROWS_PER_SPECIES = 3  # 9 fresh flowers (another seed than training) besides the three samples


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    net = train_mlp(*iris_like())
    graph = directory / "iris_mlp.onnx"
    export(net, graph, legacy=False)
    fresh, _ = iris_like(ROWS_PER_SPECIES, seed=1)
    rows = np.concatenate([np.array(SAMPLE_ROWS, np.float32), fresh]).round(3).astype(np.float32)
    with torch.no_grad():
        probabilities = torch.softmax(net(torch.from_numpy(rows)), dim=1).numpy()
    answers = {
        "made_by": f"torch {torch.__version__}, torch.onnx.export(dynamo=True), "
        "examples/pytorch-onnx/make_test_fixture.py",
        "features": [[round(float(value), 3) for value in row] for row in rows],
        "probabilities": probabilities.tolist(),
    }
    (directory / "iris_mlp.torch-answers.json").write_text(json.dumps(answers, indent=1) + "\n")
    print(f"{graph} ({graph.stat().st_size} bytes) and torch's answers for {len(rows)} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
