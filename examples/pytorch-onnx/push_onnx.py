"""The recommended route for a PyTorch model: export it to ONNX and push the graph.

The image then carries onnxruntime's CPU build and numpy (no torch, no CUDA libraries); the
platform derives the interface from the graph (docs/onnx.md). Steps, each printed:

    1. train the MLP with torch (iris_mlp.py);
    2. append a softmax and export with torch.onnx.export (one file, no external data,
       a free batch axis so the model server may batch);
    3. check onnxruntime's answers against torch's in this process;
    4. Model.from_onnx(...) and Session().push(...) (MODELBAY_URL / MODELBAY_TOKEN as usual).

    python push_onnx.py [--out iris_mlp.onnx] [--no-push]

Needs, in your own environment: torch, and `pip install './libs/sdk[onnx]'` (onnx, onnxruntime).
torch's default exporter (`dynamo=True`) also needs `pip install onnxscript`; without it pass
`--legacy-exporter` (TorchScript-based, deprecated by PyTorch but still shipped).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from iris_mlp import FEATURES, accuracy, iris_like, train_mlp
from modelbay import Model, Session

# Three flowers, one per species, as the version's validation sample.
SAMPLE_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.2, 1.3], [6.9, 3.1, 5.7, 2.1]]
TOLERANCE = 1e-5  # float32 kernels of torch and onnxruntime differ in the last bits


def export(net: torch.nn.Module, path: Path, *, legacy: bool) -> None:
    """The net plus a softmax, input `features` (batch×4), output `probabilities` (batch×3)."""
    classifier = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()
    example = (torch.zeros(2, len(FEATURES)),)
    names = {"input_names": ["features"], "output_names": ["probabilities"]}
    if legacy:
        batch_axes = {"features": {0: "batch"}, "probabilities": {0: "batch"}}
        torch.onnx.export(
            classifier, example, str(path), dynamo=False, dynamic_axes=batch_axes, **names
        )
    else:
        batch = {0: torch.export.Dim("batch")}
        # external_data=False: Modelbay takes one self-contained file (docs/onnx.md).
        torch.onnx.export(
            classifier,
            example,
            str(path),
            dynamo=True,
            dynamic_shapes=(batch,),
            external_data=False,
            **names,
        )


def largest_difference(net: torch.nn.Module, path: Path, rows: np.ndarray) -> float:
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(rows)), dim=1).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (served,) = session.run(["probabilities"], {"features": rows})
    return float(np.abs(served - expected).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("iris_mlp.onnx"))
    parser.add_argument("--name", default="iris_mlp", help="the model's name on the platform")
    parser.add_argument(
        "--legacy-exporter", action="store_true", help="torch.onnx.export(dynamo=False)"
    )
    parser.add_argument("--no-push", action="store_true", help="export and check only")
    args = parser.parse_args()

    features, labels = iris_like()
    net = train_mlp(features, labels)
    print(f"1. trained: accuracy {accuracy(net, features, labels):.3f} on {len(labels)} flowers")

    export(net, args.out, legacy=args.legacy_exporter)
    print(f"2. exported {args.out} ({args.out.stat().st_size} bytes)")

    difference = largest_difference(net, args.out, features)
    print(f"3. onnxruntime vs torch on {len(labels)} rows: largest difference {difference:.2e}")
    if difference > TOLERANCE:
        raise SystemExit(f"the exported graph differs from torch by {difference} > {TOLERANCE}")

    model = Model.from_onnx(args.out, name=args.name, samples=[{"features": SAMPLE_ROWS}])
    if args.no_push:
        return
    print(f"4. pushed: {Session().push(model, args.name)}")


if __name__ == "__main__":
    main()
