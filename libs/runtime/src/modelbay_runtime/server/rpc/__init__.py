"""The runtime's gRPC port: OIP v2 (`inference.GRPCInferenceService`) and the model's own service.

Imported only when the gRPC port is on (`grpc_port` > 0), so the HTTP server never pays for
`grpcio`'s import; see docs/runtime.md "gRPC".
"""
