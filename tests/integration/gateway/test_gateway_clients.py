"""`GET /v1/models/{owner}/{name}/versions/{v}/clients/{language}` through the real gateway,
catalog and onboarding (real Postgres): the package of each language from the pushed version's
proto, its place in the version's API answer, and the problems (unknown language, invisible
version, a proto protoc refuses). test_generated_clients.py runs the packages."""

from __future__ import annotations

import html
import io
import re
import tarfile

import httpx
import pytest
from gateway_stack import Stack
from modelbay_embedded.inprocess import InProcessTransport
from modelbay_gateway.clients import ClientLanguage, ProtoDoesNotCompile, generate_client

PROBLEM = "application/problem+json"
BASE = "/v1/models/hedy/adder/versions/1"


def names_in(content: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
        return set(tar.getnames())


async def test_each_language_is_a_package_and_the_version_shows_its_snippet(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("hedy")
    stranger = await stack.new_user("ivan")
    assert (await stack.push(owner, "hedy", "adder", archive_bytes)).status_code == 202
    await stack.wait_for_version(owner, "hedy", "adder", 1)
    async with stack.client(owner) as client:
        answers = {lang: await client.get(f"{BASE}/clients/{lang}") for lang in ClientLanguage}
        version = (await client.get(BASE)).json()
        unknown = await client.get(f"{BASE}/clients/cobol")
    async with stack.client(stranger) as client:
        hidden = await client.get(f"{BASE}/clients/python")

    expected_files = {
        ClientLanguage.PYTHON: {
            "pyproject.toml",
            "README.md",
            "src/hedy_adder_client/model_pb2.py",
            "src/hedy_adder_client/client.py",
            "src/hedy_adder_client/__init__.py",
        },
        ClientLanguage.TYPESCRIPT: {
            "package.json",
            "tsconfig.json",
            "README.md",
            "src/model_pb.ts",
            "src/client.ts",
            "src/index.ts",
        },
        ClientLanguage.JAVA: {
            "build.sh",
            "pom.xml",
            "README.md",
            "src/main/java/modelbay/clients/hedy_adder/client/ModelClient.java",
        },
    }
    for language, response in answers.items():
        assert response.status_code == 200, response.text
        folder = f"hedy-adder-1-{language}-client"
        assert response.headers["content-type"] == "application/gzip"
        assert response.headers["content-disposition"] == f'attachment; filename="{folder}.tar.gz"'
        files = {name.removeprefix(f"{folder}/") for name in names_in(response.content)}
        assert expected_files[language] <= files, files

    clients = version["clients"]
    assert set(clients) == {"python", "typescript", "java"}
    assert clients["python"]["url"] == f"{BASE}/clients/python"
    assert "pip install ./hedy-adder-1-python-client.tar.gz" in clients["python"]["snippet"]
    assert "reply = client.add(model_pb2." in clients["python"]["snippet"]
    assert "new ModelClient(" in clients["typescript"]["snippet"]
    assert "build.sh" in clients["java"]["snippet"]

    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == PROBLEM
    assert "language" in unknown.text
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == PROBLEM


def test_a_proto_protoc_refuses_is_a_409_naming_protocs_reason() -> None:
    broken = 'syntax = "proto3";\nmessage A { strin x = 1; }\n'
    with pytest.raises(ProtoDoesNotCompile) as refused:
        generate_client(broken, ClientLanguage.PYTHON, "a", "b", 1)
    assert refused.value.status == 409
    assert '"strin" is not defined' in str(refused.value.detail)


async def test_the_model_page_shows_each_snippet_and_serves_the_packages(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner = await stack.new_user("joan")
    assert (await stack.push(owner, "joan", "adder", archive_bytes)).status_code == 202
    await stack.wait_for_version(owner, "joan", "adder", 1)
    async with httpx.AsyncClient(
        transport=InProcessTransport(stack.gateway_app), base_url="http://gateway", timeout=60
    ) as browser:
        form = await browser.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = await browser.post(
            "/signin", data={"csrf_token": csrf.group(1), "username": "joan", "token": owner}
        )
        assert signed_in.status_code == 303, signed_in.text
        page = await browser.get("/models/joan/adder")
        package = await browser.get("/models/joan/adder/versions/1/clients/java")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Clients in other languages" in text
    assert "pip install ./joan-adder-1-python-client.tar.gz" in text
    assert 'new ModelClient("http://localhost:8080")' in text
    assert 'href="/models/joan/adder/versions/1/clients/typescript"' in page.text
    assert package.status_code == 200
    assert "joan-adder-1-java-client/build.sh" in names_in(package.content)
