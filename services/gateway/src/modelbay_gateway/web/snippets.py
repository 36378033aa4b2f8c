"""Example requests for a model page: curl, Python (requests) and JavaScript (fetch).

Built from the interface the catalog returns (method name, input field names and their
human-readable types such as `float`, `list[float]`, `str`), calling the model where
`modelbay run` serves it (`http://127.0.0.1:8080`) or where the embedded mode runs it.
"""

from __future__ import annotations

import json
import pprint
from dataclasses import dataclass
from typing import Any

DEFAULT_MODEL_URL = "http://127.0.0.1:8080"  # `modelbay run` maps the model's port here
_SCALARS: dict[str, Any] = {
    "float": 1.0,
    "double": 1.0,
    "int": 1,
    "int32": 1,
    "int64": 1,
    "bool": True,
    "str": "text",
    "string": "text",
    "bytes": "",
}


def example_value(type_name: str) -> Any:
    """A value of the field's type to put in an example body."""
    kind = type_name.strip()
    lowered = kind.lower()
    for prefix in ("list[", "sequence[", "repeated "):
        if lowered.startswith(prefix):
            inner = kind[len(prefix) :].removesuffix("]")
            return [example_value(inner), example_value(inner)]
    if lowered.startswith(("optional[", "dict[")):
        return example_value(kind.split("[", 1)[1].split(",", 1)[0].removesuffix("]"))
    return _SCALARS.get(lowered, {})


@dataclass(frozen=True)
class Snippets:
    method: str
    url: str
    body: str
    curl: str
    python: str
    javascript: str


def example_body(method: dict[str, Any]) -> dict[str, Any]:
    fields = method.get("inputs") or []
    return {
        str(field.get("name")): example_value(str(field.get("type", "")))
        for field in fields
        if isinstance(field, dict) and field.get("name")
    }


def snippets_for(method: dict[str, Any], base_url: str = DEFAULT_MODEL_URL) -> Snippets:
    name = str(method.get("name", "METHOD"))
    url = f"{base_url.rstrip('/')}/model/methods/{name}"
    body = json.dumps(example_body(method))
    literal = pprint.pformat(example_body(method), sort_dicts=False, width=60)
    curl = f"curl -s -X POST {url} \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"
    python = (
        "import requests\n\n"
        f"response = requests.post(\n    {url!r},\n    json={_indent(literal, 4)},\n"
        "    timeout=30,\n)\nresponse.raise_for_status()\nprint(response.json())"
    )
    javascript = (
        f'const response = await fetch("{url}", {{\n'
        '  method: "POST",\n'
        '  headers: { "Content-Type": "application/json" },\n'
        f"  body: JSON.stringify({body}),\n"
        "});\n"
        "if (!response.ok) throw new Error(await response.text());\n"
        "console.log(await response.json());"
    )
    return Snippets(name, url, body, curl, python, javascript)


def _indent(text: str, spaces: int) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0], *[" " * spaces + line for line in lines[1:]]])
