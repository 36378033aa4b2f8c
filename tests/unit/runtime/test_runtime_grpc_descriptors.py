"""The committed OIP v2 descriptor set is the compiled `oip_v2.proto`, and names what clients
(tritonclient, KServe) call: package `inference`, service `GRPCInferenceService`."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2
from modelbay_runtime.server.rpc import build_descriptors
from modelbay_runtime.server.rpc.oip_service import RPCS, SERVICE, oip_messages
from modelbay_runtime.server.settings import RuntimeSettings


def _files(raw: bytes) -> list[descriptor_pb2.FileDescriptorProto]:
    return list(descriptor_pb2.FileDescriptorSet.FromString(raw).file)


def test_committed_descriptor_set_matches_the_proto() -> None:
    committed = _files(build_descriptors.DESCRIPTOR_SET.read_bytes())
    assert committed == _files(build_descriptors.compile_proto()), (
        "oip_v2.proto changed: run python -m modelbay_runtime.server.rpc.build_descriptors"
    )


def test_the_service_has_the_specification_names_and_rpcs() -> None:
    (oip,) = _files(build_descriptors.DESCRIPTOR_SET.read_bytes())
    (service,) = oip.service
    assert f"{oip.package}.{service.name}" == SERVICE == "inference.GRPCInferenceService"
    assert {m.name: (m.input_type, m.output_type) for m in service.method} == {
        rpc: (f".inference.{request}", f".inference.{response}")
        for rpc, (request, response) in RPCS.items()
    }
    request = oip_messages()["ModelInferRequest"]
    assert request.DESCRIPTOR.fields_by_name["raw_input_contents"].number == 7


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_grpc_port_out_of_range_is_refused(port: str) -> None:
    with pytest.raises(ValueError, match="grpc_port"):
        RuntimeSettings.from_env({"MODELBAY_RUNTIME_GRPC_PORT": port})


def test_grpc_is_off_unless_a_port_is_given() -> None:
    assert RuntimeSettings.from_env({}).grpc_port == 0
    assert RuntimeSettings.from_env({"MODELBAY_RUNTIME_GRPC_PORT": "8081"}).grpc_port == 8081
