"""The Python package: protoc's `model_pb2`, a typed client over urllib, pyproject and README."""

from __future__ import annotations

import keyword

from google.protobuf.descriptor_pb2 import FileDescriptorProto

from modelbay_gateway.clients.protoc import generate, methods_of
from modelbay_gateway.clients.target import Target, local_name
from modelbay_gateway.clients.templating import render


def python_name(method: str) -> str:
    return f"{method}_" if keyword.iskeyword(method) else method


def render_python(file: FileDescriptorProto, target: Target, readme: str) -> dict[str, str | bytes]:
    module = target.python_module
    names = {"full_name": target.full_name, "version": target.version, "module": module}
    methods = [
        {
            "name": m.name,
            "call": python_name(m.name),
            "input": local_name(file, m.input_type),
            "output": local_name(file, m.output_type),
        }
        for m in methods_of(file)
    ]
    files: dict[str, str | bytes] = {
        "pyproject.toml": render("pyproject.toml.j2", dist=target.python_dist, **names),
        "README.md": readme,
        f"src/{module}/__init__.py": render("python_init.py.j2", **names),
        f"src/{module}/client.py": render("python_client.py.j2", methods=methods, **names),
        f"src/{module}/py.typed": "",
    }
    for path, content in generate(file, "--python_out").items():
        files[f"src/{module}/{path}"] = content
    return files
