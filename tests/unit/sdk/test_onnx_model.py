"""`Model.from_onnx`: the interface derived from the graph, the ONNX bundle it dumps, and the
graphs it refuses with a reason a contributor can act on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnx_graphs
import pytest
from modelbay import Model, dump
from modelbay.model import ModelDefinitionError
from modelbay_runtime.types import ArraySpec


def scorer(tmp_path: Path, graph: onnx.ModelProto | None = None) -> Path:
    return onnx_graphs.save(graph or onnx_graphs.linear_scorer(), tmp_path / "scorer.onnx")


def test_the_interface_comes_from_the_graph(tmp_path: Path) -> None:
    model = Model.from_onnx(scorer(tmp_path))
    method = model.methods["predict"]
    assert model.name == "scorer"  # the file's stem
    # `features.in` is not a proto identifier; the symbolic `batch` axis is a free dimension.
    assert [(f.name, f.spec) for f in method.input_spec.fields] == [
        ("features_in", ArraySpec("float32", (None, 4)))
    ]
    assert [(f.name, f.spec) for f in method.output_spec.fields] == [
        ("scores", ArraySpec("float32", (None, 3))),
        ("label", ArraySpec("int64", (None,))),
    ]
    assert method.batchable  # every field's first axis is free
    assert method.wrapped_input
    assert not method.wrapped_output


def test_the_dumped_bundle_is_an_onnx_bundle_with_a_generated_sample(tmp_path: Path) -> None:
    bundle = dump(Model.from_onnx(scorer(tmp_path)), "scorer", tmp_path / "bundle")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["kind"] == "onnx"
    assert sorted(manifest["files"]) == [
        "model.descriptor.pb",
        "model.onnx",
        "model.proto",
        "schemas.json",
    ]
    assert (bundle / "model.onnx").read_bytes() == (tmp_path / "scorer.onnx").read_bytes()
    assert [r.split("==")[0] for r in manifest["requirements"]] == ["numpy", "onnxruntime"]
    assert manifest["onnx"]["inputs"] == {"features_in": "features.in"}
    assert manifest["onnx"]["opset_import"] == {"": 17}
    (sample,) = manifest["samples"]["predict"]
    rows = np.array(sample["input"]["features_in"], np.float32)
    assert rows.shape == (2, 4)  # the free batch axis gets two rows
    want = onnx_graphs.in_process_outputs(tmp_path / "scorer.onnx", rows)
    assert sample["output"] == {"scores": want["scores"].tolist(), "label": want["label"].tolist()}


def test_supplied_samples_replace_the_generated_one(tmp_path: Path) -> None:
    model = Model.from_onnx(
        scorer(tmp_path), method="score", samples=[{"features_in": [[1, 2, 3, 4]]}]
    )
    assert model.samples == {"score": [{"features_in": [[1.0, 2.0, 3.0, 4.0]]}]}


def test_a_graph_with_a_custom_operator_domain_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelDefinitionError, match="custom operator domains"):
        Model.from_onnx(scorer(tmp_path, onnx_graphs.with_custom_domain()))


def test_external_data_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ModelDefinitionError, match="save_as_external_data=False"):
        Model.from_onnx(onnx_graphs.with_external_data(tmp_path))


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 definitely not protobuf \xff")
    with pytest.raises(ModelDefinitionError, match="is not an ONNX model"):
        Model.from_onnx(junk)


def test_a_non_tensor_output_is_refused_naming_it(tmp_path: Path) -> None:
    graph = onnx_graphs.linear_scorer()
    graph.graph.output[1].type.CopyFrom(
        onnx.helper.make_sequence_type_proto(
            onnx.helper.make_tensor_type_proto(onnx.TensorProto.INT64, ["batch"])
        )
    )
    with pytest.raises(ModelDefinitionError, match="graph output 'label' is a sequence_type"):
        Model.from_onnx(scorer(tmp_path, graph))
