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
    proto = (bundle / "model.proto").read_text()
    package = generate_client(proto, language, "alice", "iris", 3)
    assert package.filename == f"alice-iris-3-{language}-client.tar.gz"
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
    folder = unpack(bundle, ClientLanguage.PYTHON, tmp_path)
    uv = str(ROOT / ".tools" / "bin" / "uv")
    run([uv, "venv", "-q", str(tmp_path / "venv")], tmp_path)
    python = str(tmp_path / "venv" / "bin" / "python")
    run([uv, "pip", "install", "-q", "--python", python, str(folder)], tmp_path)
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
