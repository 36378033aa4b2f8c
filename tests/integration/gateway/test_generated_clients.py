"""The generated clients (Python, TypeScript, Java) compiled and run against a real model server.

The packages come from `modelbay_gateway.clients.generate_client` on the `model.proto` of a real
SDK bundle (the paper's Fig. 2 iris model); `python -m modelbay_runtime serve` serves the same
bundle on loopback. Each client calls `/model/methods/classify` once with protobuf and once with
JSON, and its answers are compared with the exact labels. Python installs into a fresh venv,
TypeScript compiles with `tsc` against `@bufbuild/protobuf` from npm (node_modules cached under
var/cache so later runs need no network), Java compiles with Debian's JDK and jars.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from model_server_process import running_model_server
from modelbay_gateway.clients import ClientLanguage, generate_client
from modelbay_gateway.clients.java_client import DEBIAN_CLASSPATH
from modelbay_gateway.clients.typescript_client import BUFBUILD_PROTOBUF, TYPESCRIPT
from onboarding_iris import make_iris_bundle_dir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TS_CACHE = ROOT / "var" / "cache" / "clients-typescript"
# Three iris flowers the classifier was fitted on: setosa, virginica, versicolor.
ROWS = [(5.1, 3.5, 1.4, 0.2), (6.7, 3.0, 5.2, 2.3), (5.9, 3.0, 4.2, 1.5)]
COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABELS = [0, 2, 1]
EXPECTED = {"protobuf": LABELS, "json": LABELS}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_iris_bundle_dir(tmp_path_factory.mktemp("bundle"), "iris")


@pytest.fixture(scope="module")
def server(bundle: Path) -> Iterator[str]:
    with running_model_server(bundle) as url:
        columns = {c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)}
        direct = httpx.post(f"{url}/model/methods/classify", json=columns, timeout=30)
        assert direct.json() == {"IrisType": LABELS}  # the model itself, before any client
        yield url


def unpack(bundle: Path, language: ClientLanguage, into: Path) -> Path:
    return unpack_proto((bundle / "model.proto").read_text(), language, into, "iris")


def unpack_proto(proto: str, language: ClientLanguage, into: Path, name: str) -> Path:
    package = generate_client(proto, language, "alice", name, 3)
    assert package.filename == f"alice-{name}-3-{language}-client.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(package.content), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    return into / package.filename.removesuffix(".tar.gz")


def run(argv: list[str], cwd: Path, **env: str) -> str:
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )
    assert done.returncode == 0, f"{argv[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def answers(stdout: str) -> dict[str, list[int]]:
    return {k: [int(v) for v in values] for k, values in json.loads(stdout).items()}


PYTHON_CALL = """
import json, sys
from alice_iris_client import ModelClient, model_pb2
client = ModelClient(sys.argv[1])
request = model_pb2.Input(**json.loads(sys.argv[2]))
print(json.dumps({
    "protobuf": list(client.classify(request).IrisType),
    "json": list(client.classify_json(request).IrisType),
}))
"""


def test_python_client_installs_in_a_fresh_venv_and_calls_the_model(
    bundle: Path, server: str, tmp_path: Path
) -> None:
    package = generate_client(
        (bundle / "model.proto").read_text(), ClientLanguage.PYTHON, "alice", "iris", 3
    )
    archive = tmp_path / package.filename
    archive.write_bytes(package.content)
    uv = str(ROOT / ".tools" / "bin" / "uv")
    run([uv, "venv", "-q", str(tmp_path / "venv")], tmp_path)
    python = str(tmp_path / "venv" / "bin" / "python")
    # The archive as downloaded, as the README's `pip install ./<archive>.tar.gz` does.
    run([uv, "pip", "install", "-q", "--python", python, str(archive)], tmp_path)
    request = json.dumps({c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)})
    # -I: the fresh venv alone, not this checkout's packages.
    stdout = run([python, "-I", "-c", PYTHON_CALL, server, request], tmp_path)
    assert answers(stdout) == EXPECTED


TYPESCRIPT_CALL = """
import { ModelClient } from "./dist/index.js";
const client = new ModelClient(process.argv[2]);
const request = JSON.parse(process.argv[3]);
const viaProtobuf = await client.classify(request);
const viaJson = await client.classifyJson(request);
console.log(JSON.stringify({
  protobuf: viaProtobuf.IrisType.map(String),
  json: viaJson.IrisType.map(String),
}));
"""


def typescript_node_modules() -> Path:
    """`@bufbuild/protobuf` and `typescript` from the npm registry, installed once under var/."""
    manifest = {
        "private": True,
        "dependencies": {"@bufbuild/protobuf": BUFBUILD_PROTOBUF, "typescript": TYPESCRIPT},
    }
    TS_CACHE.mkdir(parents=True, exist_ok=True)
    wanted = json.dumps(manifest, indent=2) + "\n"
    package_json = TS_CACHE / "package.json"
    installed = (TS_CACHE / "node_modules" / "typescript" / "bin" / "tsc").exists()
    if not installed or package_json.read_text() != wanted:
        package_json.write_text(wanted)
        run(
            ["flock", str(TS_CACHE / ".lock"), "npm", "install", "--no-audit", "--no-fund"],
            TS_CACHE,
        )
    return TS_CACHE / "node_modules"


def test_typescript_client_compiles_with_tsc_and_calls_the_model(
    bundle: Path, server: str, tmp_path: Path
) -> None:
    node_modules = typescript_node_modules()
    folder = unpack(bundle, ClientLanguage.TYPESCRIPT, tmp_path)
    (folder / "node_modules").symlink_to(node_modules, target_is_directory=True)
    run(["node", str(node_modules / "typescript" / "bin" / "tsc"), "-p", "."], folder)
    (folder / "call.mjs").write_text(TYPESCRIPT_CALL)
    camel = {"sepalLength": 0, "sepalWidth": 1, "petalLength": 2, "petalWidth": 3}
    request = json.dumps({name: [row[i] for row in ROWS] for name, i in camel.items()})
    stdout = run(["node", "call.mjs", server, request], folder)
    assert answers(stdout) == EXPECTED


JAVA_CALL = """
import modelbay.clients.alice_iris.Input;
import modelbay.clients.alice_iris.client.ModelClient;

public class Call {
  public static void main(String[] args) throws Exception {
    ModelClient client = new ModelClient(args[0]);
    Input.Builder request = Input.newBuilder();
    for (int row = 1; row < args.length; row++) {
      String[] v = args[row].split(",");
      request.addSepalLength(Double.parseDouble(v[0])).addSepalWidth(Double.parseDouble(v[1]))
          .addPetalLength(Double.parseDouble(v[2])).addPetalWidth(Double.parseDouble(v[3]));
    }
    System.out.println("{\\"protobuf\\": " + client.classify(request.build()).getIrisTypeList()
        + ", \\"json\\": " + client.classifyJson(request.build()).getIrisTypeList() + "}");
  }
}
"""


def test_java_client_compiles_with_debian_jdk_and_calls_the_model(
    bundle: Path, server: str, tmp_path: Path
) -> None:
    folder = unpack(bundle, ClientLanguage.JAVA, tmp_path)
    jar = run(["sh", "build.sh"], folder).strip().splitlines()[-1]
    classpath = f"{DEBIAN_CLASSPATH}:{folder / jar}"
    (tmp_path / "Call.java").write_text(JAVA_CALL)
    run(["javac", "-cp", classpath, "-d", str(tmp_path), "Call.java"], tmp_path)
    rows = [",".join(str(v) for v in row) for row in ROWS]
    stdout = run(["java", "-cp", f"{classpath}:{tmp_path}", "Call", server, *rows], tmp_path)
    assert answers(stdout) == EXPECTED


def test_the_toolchains_are_here() -> None:
    """Fails, never skips, when a machine lacks what scripts/bootstrap.sh installs."""
    for tool in ("protoc", "node", "npm", "javac", "java"):
        assert shutil.which(tool), f"{tool} is missing: run scripts/bootstrap.sh"


# What the SDK's protos can hold beyond iris (enums, maps, nested and optional fields, 64-bit
# integers, bytes) and method names that are keywords or clash with the clients' own members.
RICH_PROTO = """
syntax = "proto3";
package modelbay.rich;
service Model {
  rpc score (Reading) returns (Summary);
  rpc import (Reading) returns (Summary);
  rpc post (Tensor) returns (Tensor);
  rpc constructor (Tensor) returns (Tensor);
}
enum Colour { COLOUR_UNSPECIFIED = 0; COLOUR_RED = 1; }
message Tensor { repeated int64 shape = 1; repeated float values = 2; }
message Reading {
  string sensor = 1;
  repeated double values = 2;
  int64 count = 3;
  bool valid = 4;
  bytes raw = 5;
  Colour colour = 6;
  map<string, double> extras = 7;
  Tensor tensor = 8;
  optional int32 limit = 9;
  message Note { string text = 1; }
  repeated Note notes = 10;
  map<string, Tensor> named = 11;
  uint64 big_id = 12;
}
message Summary { double total = 1; Reading.Note note = 2; Colour colour = 3; }
"""

TYPESCRIPT_SCHEMAS = """
import * as pb from "./dist/model_pb.js";
import { ModelClient } from "./dist/index.js";
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
const names = Object.entries(pb)
  .filter(([k]) => k.endsWith("Schema"))
  .map(([k, v]) => [k, v.typeName]);
const reading = create(pb.ReadingSchema, { sensor: "s", count: 3n, extras: { a: 1.5 },
  notes: [{ text: "n" }], named: { t: { shape: [2n] } }, limit: 4 });
const again = fromBinary(pb.ReadingSchema, toBinary(pb.ReadingSchema, reading));
const json = toJson(pb.ReadingSchema, again, { useProtoFieldName: true });
const client = new ModelClient("http://127.0.0.1:9");
const methods = ["score", "scoreJson", "import", "importJson", "post", "postJson", "constructor_"];
console.log(JSON.stringify({ names: Object.fromEntries(names), json,
  methods: methods.filter((m) => typeof client[m] === "function") }));
"""


def test_a_rich_proto_compiles_in_every_language(tmp_path: Path) -> None:
    python = unpack_proto(RICH_PROTO, ClientLanguage.PYTHON, tmp_path, "rich")
    check = (
        "from alice_rich_client import ModelClient, model_pb2 as pb\n"
        "note = pb.Reading.Note(text='n')\n"
        "r = pb.Reading(sensor='s', count=3, extras={'a': 1.5}, notes=[note])\n"
        "assert pb.Reading.FromString(r.SerializeToString()) == r\n"
        "c = ModelClient('http://127.0.0.1:9')\n"
        "print(sorted(m for m in dir(c) if not m.startswith('_')))\n"
    )
    methods = run([sys.executable, "-c", check], python / "src", PYTHONPATH=str(python / "src"))
    calls = ["score", "score_json", "import_", "import_json", "post", "post_json"]
    calls += ["constructor", "constructor_json"]
    assert methods.strip() == str(sorted(["base_url", "token", "timeout", *calls]))

    node_modules = typescript_node_modules()
    typescript = unpack_proto(RICH_PROTO, ClientLanguage.TYPESCRIPT, tmp_path, "rich")
    (typescript / "node_modules").symlink_to(node_modules, target_is_directory=True)
    run(["node", str(node_modules / "typescript" / "bin" / "tsc"), "-p", "."], typescript)
    (typescript / "check.mjs").write_text(TYPESCRIPT_SCHEMAS)
    checked = json.loads(run(["node", "check.mjs"], typescript))
    assert checked["names"] == {
        "ColourSchema": "modelbay.rich.Colour",
        "TensorSchema": "modelbay.rich.Tensor",
        "ReadingSchema": "modelbay.rich.Reading",
        "Reading_NoteSchema": "modelbay.rich.Reading.Note",
        "SummarySchema": "modelbay.rich.Summary",
    }
    assert checked["json"] == {
        "sensor": "s",
        "count": "3",
        "extras": {"a": 1.5},
        "limit": 4,
        "notes": [{"text": "n"}],
        "named": {"t": {"shape": ["2"]}},
    }
    assert len(checked["methods"]) == 7

    java = unpack_proto(RICH_PROTO, ClientLanguage.JAVA, tmp_path, "rich")
    run(["sh", "build.sh"], java)
    client = java / "src/main/java/modelbay/clients/alice_rich/client/ModelClient.java"
    assert "public Summary import_(Reading request)" in client.read_text()
    assert "public Summary importJson(Reading request)" in client.read_text()
