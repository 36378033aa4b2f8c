"""The TypeScript package: `model_pb.ts`, a typed client over `fetch`, package.json, tsconfig."""

from __future__ import annotations

import json

from google.protobuf.descriptor_pb2 import FileDescriptorProto

from modelbay_gateway.clients.protoc import methods_of
from modelbay_gateway.clients.target import Target
from modelbay_gateway.clients.templating import render
from modelbay_gateway.clients.typescript_messages import render_messages, ts_name

BUFBUILD_PROTOBUF = "^2.2.0"
TYPESCRIPT = "^5.4.0"

_TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "lib": ["ES2022", "DOM"],
        "module": "NodeNext",
        "moduleResolution": "NodeNext",
        "strict": True,
        "declaration": True,
        "outDir": "dist",
        "rootDir": "src",
        "skipLibCheck": True,
    },
    "include": ["src"],
}


def ts_method_name(method: str) -> str:
    """A method name that does not clash with the client's own members (its helpers are
    `#private`, so only these)."""
    clashes = {"constructor", "baseUrl", "token"}
    return f"{method}_" if method in clashes else method


def package_json(target: Target) -> str:
    package = {
        "name": target.npm_name,
        "version": f"{target.version}.0.0",
        "description": f"Generated client of the Modelbay model {target.full_name}",
        "type": "module",
        "main": "dist/index.js",
        "types": "dist/index.d.ts",
        "files": ["dist", "src"],
        "scripts": {"build": "tsc -p ."},
        "dependencies": {"@bufbuild/protobuf": BUFBUILD_PROTOBUF},
        "devDependencies": {"typescript": TYPESCRIPT},
    }
    return json.dumps(package, indent=2) + "\n"


def render_typescript(
    file: FileDescriptorProto, target: Target, readme: str
) -> dict[str, str | bytes]:
    methods = [
        {
            "name": m.name,
            "call": ts_method_name(m.name),
            "input": ts_name(file, m.input_type),
            "output": ts_name(file, m.output_type),
        }
        for m in methods_of(file)
    ]
    client = render(
        "client.ts.j2", full_name=target.full_name, version=target.version, methods=methods
    )
    index = 'export * from "./client.js";\nexport * as pb from "./model_pb.js";\n'
    return {
        "README.md": readme,
        "package.json": package_json(target),
        "tsconfig.json": json.dumps(_TSCONFIG, indent=2) + "\n",
        "src/model_pb.ts": render_messages(file),
        "src/client.ts": client,
        "src/index.ts": index,
    }
