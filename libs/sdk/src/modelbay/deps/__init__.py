"""Dependency inference: tracing pickler, source scan, distributions, pruning, local code."""

from modelbay.deps.editable import EditableInstall, EditableInstallWarning
from modelbay.deps.evidence import UnresolvedImport
from modelbay.deps.infer import (
    DroppedRequirement,
    Inference,
    InferenceOptions,
    InferredRequirement,
    RequirementError,
    SerializationError,
    infer,
    pickle_methods,
)
from modelbay.deps.local_code import LocalCodeError, LocalModule
from modelbay.deps.script import ScriptError, load_object, load_script

__all__ = [
    "DroppedRequirement",
    "EditableInstall",
    "EditableInstallWarning",
    "Inference",
    "InferenceOptions",
    "InferredRequirement",
    "LocalCodeError",
    "LocalModule",
    "RequirementError",
    "ScriptError",
    "SerializationError",
    "UnresolvedImport",
    "infer",
    "load_object",
    "load_script",
    "pickle_methods",
]
