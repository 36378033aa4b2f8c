"""Everything derived once from the loaded model: message classes, batchers, tensor mappings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from modelbay_runtime.server.batching import Batcher
from modelbay_runtime.server.columns import ColumnLayout
from modelbay_runtime.server.invoke import Runner
from modelbay_runtime.server.metrics import ServerMetrics
from modelbay_runtime.server.model import ServableMethod, ServableModel
from modelbay_runtime.server.oip_tensors import TensorSignature, array_ranks
from modelbay_runtime.server.openapi import build_openapi
from modelbay_runtime.server.protobuf_codec import MessageCatalog
from modelbay_runtime.server.settings import RuntimeSettings

log = logging.getLogger("modelbay_runtime.server")


@dataclass
class MethodRuntime:
    method: ServableMethod
    batcher: Batcher | None
    tensors: TensorSignature | None
    layout: ColumnLayout | None  # set for row-wise (batchable) methods
    # Fields the method's JSON Schema marks required. The codec reads a missing field as its
    # proto3 default (protobuf cannot tell them apart), but a JSON caller who leaves out a
    # required field has made a mistake worth a 422, as the published schema promises.
    required_fields: tuple[str, ...] = ()


@dataclass
class ServingState:
    model: ServableModel
    catalog: MessageCatalog
    methods: dict[str, MethodRuntime]
    version: str
    _cache: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        model: ServableModel,
        settings: RuntimeSettings,
        runner: Runner,
        metrics: ServerMetrics,
    ) -> ServingState:
        catalog = MessageCatalog(model.descriptor_set)
        methods: dict[str, MethodRuntime] = {}
        for name, method in model.methods.items():
            input_desc = catalog.descriptor(method.input_message)
            output_desc = catalog.descriptor(method.output_message)
            catalog.message_class(method.input_message)  # build classes now, not per request
            catalog.message_class(method.output_message)
            layout = ColumnLayout.of(input_desc, output_desc) if method.batchable else None
            batcher = None
            if settings.batching and layout is not None:
                batcher = Batcher(
                    method,
                    layout,
                    runner,
                    max_rows=settings.max_batch_size,
                    max_wait_s=settings.max_batch_wait_ms / 1000.0,
                    observe=metrics.batch,
                )
            ranks = array_ranks(method.input_spec, method.output_spec)
            tensors = TensorSignature.of(input_desc, output_desc, ranks)
            required = method.input_schema.get("required") or ()
            methods[name] = MethodRuntime(
                method, batcher, tensors, layout, tuple(map(str, required))
            )
            log.info(
                "method %s: batching %s, OIP v2 %s",
                name,
                "on" if batcher else "off",
                "yes" if tensors else "no",
            )
        version = str(model.manifest.get("version") or "1")
        return cls(model, catalog, methods, version)

    @property
    def default_tensor_method(self) -> str | None:
        """The method `/v2/models/{model name}` serves: the first one that maps to tensors."""
        return next((name for name, m in self.methods.items() if m.tensors), None)

    def metadata_json(self) -> bytes:
        return self._cached("metadata", lambda: json.dumps(self._metadata()).encode())

    def openapi_json(self) -> bytes:
        return self._cached(
            "openapi", lambda: json.dumps(build_openapi(self.model, self.version)).encode()
        )

    def _cached(self, key: str, make: Any) -> bytes:
        value = self._cache.get(key)
        if value is None:
            value = make()
            self._cache[key] = value
        return value

    def _metadata(self) -> dict[str, Any]:
        manifest = self.model.manifest
        return {
            "name": self.model.name,
            "version": self.version,
            "description": manifest.get("description"),
            "spec": manifest.get("spec"),
            "python": manifest.get("python") or manifest.get("python_version"),
            "license": manifest.get("license"),
            "requirements": manifest.get("requirements", []),
            "methods": {
                name: {
                    "description": rt.method.description,
                    "input_message": rt.method.input_message,
                    "output_message": rt.method.output_message,
                    "batchable": rt.method.batchable,
                    "batching": rt.batcher is not None and rt.batcher.enabled,
                    "oip_v2": rt.tensors is not None,
                    "input_schema": rt.method.input_schema,
                    "output_schema": rt.method.output_schema,
                }
                for name, rt in self.methods.items()
            },
            "messages": sorted(self.catalog.message_names()),
        }
