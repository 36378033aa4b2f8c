"""Compile `oip_v2.proto` into `oip_v2.descriptor.pb` (a FileDescriptorSet) with grpcio-tools.

A development step, not run by the server: grpcio-tools is a build/test dependency only, and
the server reads the committed descriptor set (no generated `_pb2` modules, whose protobuf
gencode version would pin the runtime's protobuf). `test_runtime_grpc_descriptors.py` checks the
committed file matches the proto.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = HERE / "oip_v2.proto"
DESCRIPTOR_SET = HERE / "oip_v2.descriptor.pb"


def compile_proto() -> bytes:
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "oip.pb"
        argv = ["protoc", f"-I{HERE}", f"--descriptor_set_out={out}", PROTO.name]
        if protoc.main(argv) != 0:
            raise RuntimeError(f"protoc failed on {PROTO}")
        return out.read_bytes()


def main() -> int:
    DESCRIPTOR_SET.write_bytes(compile_proto())
    print(f"wrote {DESCRIPTOR_SET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
