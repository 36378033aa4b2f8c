"""OpenAPI 3.1 document generated from the model's own signature.

Each method's JSON Schemas (draft 2020-12, as OpenAPI 3.1 allows) become its request and
response schemas. Their `$defs` move to `components/schemas` and their `$ref`s are rewritten,
because inside an OpenAPI document `#` means the document root, not the method's schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from modelbay_runtime.server.model import ServableMethod, ServableModel
from modelbay_runtime.server.negotiation import JSON, PROTOBUF_MEDIA_TYPES
from modelbay_runtime.server.problem import PROBLEM_MEDIA_TYPE

_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the offending input field, if any"},
    },
    "required": ["type", "title", "status"],
}
_ERRORS = {
    "400": "Malformed body (broken JSON or protobuf)",
    "404": "Unknown method",
    "406": "Accept allows neither JSON nor protobuf",
    "413": "Body larger than the configured limit",
    "415": "Content-Type is neither JSON nor protobuf",
    "422": "The body does not fit the method's input message; `field` names the culprit",
    "500": "The model failed (generic body, details in the server log)",
    "503": "The model is still loading",
}


def build_openapi(model: ServableModel, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {"ProblemError": _PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for method in model.methods.values():
        paths[f"/model/methods/{method.name}"] = {"post": _operation(method, components)}
    paths.update(_fixed_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": model.name,
            "version": version,
            "description": str(model.manifest.get("description") or f"Model {model.name}"),
        },
        "paths": paths,
        "components": {"schemas": components},
    }


def _operation(method: ServableMethod, components: dict[str, Any]) -> dict[str, Any]:
    request_ref = _register(method.input_message, method.input_schema, method.name, components)
    response_ref = _register(method.output_message, method.output_schema, method.name, components)
    protobuf_note = "protobuf message `{}` (see GET /model/proto)"
    responses: dict[str, Any] = {
        "200": {
            "description": "The method's output",
            "content": _content(response_ref, protobuf_note.format(method.output_message)),
        }
    }
    for status, description in _ERRORS.items():
        responses[status] = {
            "description": description,
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemError"}}
            },
        }
    return {
        "operationId": method.name,
        "summary": method.description or method.name,
        "description": (
            "Send JSON or protobuf (Content-Type); the answer uses the Accept header, "
            "defaulting to the request's encoding."
        ),
        "requestBody": {
            "required": True,
            "content": _content(request_ref, protobuf_note.format(method.input_message)),
        },
        "responses": responses,
    }


def _content(ref: str, protobuf_description: str) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": {"$ref": ref}}}
    binary = {"type": "string", "format": "binary", "description": protobuf_description}
    for media_type in PROTOBUF_MEDIA_TYPES[:2]:
        content[media_type] = {"schema": binary}
    return content


def _register(
    message: str, schema: Mapping[str, Any], method: str, components: dict[str, Any]
) -> str:
    """Put `schema` (and its $defs) into components; return the $ref of the schema."""
    document = copy.deepcopy(dict(schema))
    definitions = document.pop("$defs", None) or document.pop("definitions", None) or {}
    document.pop("$schema", None)
    renames: dict[str, str] = {}
    for name, definition in definitions.items():
        renames[name] = _free_name(name, definition, method, components)
    rewritten = _rewrite_refs(document, renames)
    for name, definition in definitions.items():
        components[renames[name]] = _rewrite_refs(definition, renames)
    short = message.rsplit(".", 1)[-1]
    key = _free_name(short, rewritten, method, components)
    components[key] = rewritten
    return f"#/components/schemas/{key}"


def _free_name(name: str, definition: Any, method: str, components: dict[str, Any]) -> str:
    existing = components.get(name)
    if existing is None or json.dumps(existing, sort_keys=True) == json.dumps(
        definition, sort_keys=True
    ):
        return name
    return f"{method}.{name}"


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _rewrite_ref(value, renames)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _rewrite_ref(ref: str, renames: Mapping[str, str]) -> str:
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            name = ref[len(prefix) :]
            return f"#/components/schemas/{renames.get(name, name)}"
    return ref


def _fixed_paths() -> dict[str, Any]:
    def get(summary: str, media_type: str = JSON) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "responses": {
                    "200": {"description": "OK", "content": {media_type: {"schema": {}}}}
                },
            }
        }

    return {
        "/model/metadata": get("Model name, methods, messages and requirements"),
        "/model/proto": get("The model's protobuf definition", "text/plain"),
        "/healthz": get("The process is alive"),
        "/readyz": get("The model is loaded (and warmed up, if configured); 503 until then"),
        "/metrics": get("Prometheus metrics", "text/plain"),
        "/v2/models/{name}/infer": {
            "post": {
                "summary": "Open Inference Protocol v2 inference (JSON or binary tensors)",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {"content": {JSON: {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "Inference response"}},
            }
        },
    }


SWAGGER_UI_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title} - API docs</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "openapi.json", dom_id: "#swagger-ui"}});</script>
<noscript>The OpenAPI document is at <a href="openapi.json">/openapi.json</a>.</noscript>
</body></html>
"""
