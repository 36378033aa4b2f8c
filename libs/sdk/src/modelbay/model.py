"""`Model`: a set of typed methods, checked and wrapped into proto3-shaped messages.

Wrapping (Acumos-compatible, see docs/sdk-runtime-contract.md): a method whose single
parameter is a message type (NamedTuple, dataclass, pydantic model, DataFrame) takes that
message as input and is called with one instance; otherwise its parameters become the fields of
a generated `<Method>In` message and it is called with keyword arguments. A message-typed return
is the output message; any other return is wrapped into `<Method>Out { value = 1 }`.
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelbay_runtime.callables import type_hints_of
from modelbay_runtime.codec import InputError, OutputError, make_json_caller, to_json, to_python
from modelbay_runtime.types import (
    WRAPPED_VALUE_FIELD,
    FieldSpec,
    MessageSpec,
    TypeSpec,
    UnsupportedTypeError,
    is_batchable,
    spec_of,
)

if TYPE_CHECKING:
    from modelbay.onnx_model import OnnxModel

__all__ = ["Method", "Model", "ModelDefinitionError", "message_base_name"]


class ModelDefinitionError(TypeError):
    """A method cannot become part of a model: the message names the method and parameter."""


@dataclass(frozen=True)
class Method:
    """One model method after checking and wrapping.

    `input_spec`/`output_spec` are the message specs after wrapping; `wrapped_input` means the
    function takes the input message's fields as keyword arguments, `wrapped_output` that its
    return value is the `value` field of the output message. `batchable` tells the server it
    may concatenate requests (every input and output field is a column).
    """

    name: str
    function: Callable[..., Any]
    input_spec: MessageSpec
    output_spec: MessageSpec
    wrapped_input: bool
    wrapped_output: bool
    description: str
    batchable: bool

    @property
    def input_message(self) -> str:
        """The input message's type name (the class name, or `<Name>In`). The .proto may
        sanitise it (`string` → `string_`): for wire names use `Interface.methods`."""
        return self.input_spec.name

    @property
    def output_message(self) -> str:
        """The output message's type name (the class name, or `<Name>Out`); see input_message."""
        return self.output_spec.name

    def call_json(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Natural-JSON input dict in, natural-JSON-ready output dict out (bytes stay bytes).
        Raises InputError for bad input and OutputError for a return that does not fit."""
        caller = make_json_caller(
            self.function,
            self.input_spec,
            self.output_spec,
            wrapped_input=self.wrapped_input,
            wrapped_output=self.wrapped_output,
        )
        return caller(payload)


# Debian Policy §5.6.1, the rule onboarding applies again to the manifest.
DEBIAN_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def _check_system_packages(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise ModelDefinitionError("system_packages is a list of Debian package names")
    bad = [name for name in names if not DEBIAN_PACKAGE_NAME.match(str(name))]
    if bad:
        raise ModelDefinitionError(
            f"system_packages: {', '.join(map(repr, bad))} "
            f"{'is not a Debian package name' if len(bad) == 1 else 'are not Debian package names'}"
            " (lower-case letters, digits, '+', '-', '.'; e.g. 'libsndfile1')"
        )
    return tuple(sorted(set(names)))


class Model:
    """A model: named, type-annotated methods (`Model(classify=classify_iris)`).

    `samples={"classify": [sample, ...]}` attaches example inputs; a sample is a dict of field
    values, an instance of the input message class, or (when the input has one field) the bare
    value. Samples are validated now and kept as natural JSON in `model.samples`.
    `batching={"classify": False}` turns adaptive batching off for a method.
    `system_packages=["libsndfile1"]` declares Debian packages the image must install (the
    platform also finds the ones the wheels' shared libraries need: docs/system-packages.md).
    `samples`, `batching` and `system_packages` are therefore not usable as method names.
    `model.classify(...)` calls the raw function.
    """

    methods: dict[str, Method]
    samples: dict[str, list[dict[str, Any]]]

    def __init__(
        self,
        *,
        samples: Mapping[str, Sequence[Any]] | None = None,
        batching: Mapping[str, bool] | None = None,
        system_packages: Sequence[str] | None = None,
        **methods: Callable[..., Any],
    ) -> None:
        if not methods:
            raise ModelDefinitionError("a Model needs at least one method: Model(name=function)")
        self.system_packages = _check_system_packages(system_packages or ())
        batching = dict(batching or {})
        unknown = set(batching) - set(methods)
        if unknown:
            raise ModelDefinitionError(f"batching names unknown method(s): {sorted(unknown)}")
        self.methods = {
            name: build_method(name, function, batching.get(name, True))
            for name, function in methods.items()
        }
        _check_message_names(self.methods)
        self.samples = {name: [] for name in self.methods}
        for method_name, method_samples in (samples or {}).items():
            method = self._method(method_name)
            for index, sample in enumerate(method_samples):
                self.samples[method_name].append(_normalise_sample(method, sample, index))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # __dict__ lookup, not self.methods: during unpickling __getattr__ runs before
        # __dict__ is restored and self.methods would recurse.
        methods = self.__dict__.get("methods")
        if methods is not None and name in methods:
            function: Callable[..., Any] = methods[name].function
            return function
        raise AttributeError(f"{type(self).__name__!s} has no method or attribute {name!r}")

    def _method(self, name: str) -> Method:
        try:
            return self.methods[name]
        except KeyError:
            known = ", ".join(self.methods)
            raise KeyError(f"model has no method {name!r} (methods: {known})") from None

    def record_sample(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `method` like the raw function, record the input as a sample, return the result.

        For a wrapped input the arguments are bound to the function's parameters; for a
        message input pass one instance (or field values as keywords)."""
        target = self._method(method)
        if target.wrapped_input:
            bound = inspect.signature(target.function).bind(*args, **kwargs)
            sample: Any = dict(bound.arguments)
        else:
            sample = args[0] if args and not kwargs else dict(kwargs)
        normalised = _normalise_sample(target, sample, len(self.samples[method]))
        result = target.function(*args, **kwargs)
        self.samples[method].append(normalised)
        return result

    def run_sample(self, method: str, sample_input: Mapping[str, Any]) -> dict[str, Any]:
        """Run a natural-JSON sample input (as stored in `samples`) through the codec and the
        method; returns the natural-JSON output (bytes stay bytes) to store with the sample."""
        return self._method(method).call_json(sample_input)

    def __repr__(self) -> str:
        return f"Model({', '.join(self.methods)})"

    @classmethod
    def from_onnx(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        method: str = "predict",
        samples: Sequence[Any] | None = None,
        batching: bool = True,
    ) -> OnnxModel:
        """A model serving the ONNX graph at `path` as one method (docs/onnx.md). `name` is
        the default push name (else the file's stem); `samples` are inputs of `method`
        (else one is generated from the graph's shapes). Needs `modelbay[onnx]`."""
        from modelbay.onnx_model import OnnxModel

        return OnnxModel(path, name=name, method=method, samples=samples, batching=batching)


def message_base_name(method_name: str) -> str:
    """PascalCase of a method name keeping inner capitals: `getShape` → `GetShape`,
    `classify_iris` → `ClassifyIris`; the base of `<Base>In` / `<Base>Out`."""
    parts = [p for p in method_name.split("_") if p]
    return "".join(p[0].upper() + p[1:] for p in parts) or "Method"


def build_method(name: str, function: Callable[..., Any], batching: bool = True) -> Method:
    """Check one method and wrap its signature (ModelDefinitionError names the culprit)."""
    if not (name.isidentifier() and name.isascii()) or keyword.iskeyword(name):
        raise ModelDefinitionError(f"method name {name!r} must be an ASCII Python identifier")
    if not callable(function):
        raise ModelDefinitionError(f"method {name!r}: {function!r} is not callable")
    parameters, hints = _signature(name, function)
    input_spec, wrapped_input = _input_message(name, parameters, hints)
    output_spec, wrapped_output = _output_message(name, hints)
    return Method(
        name=name,
        function=function,
        input_spec=input_spec,
        output_spec=output_spec,
        wrapped_input=wrapped_input,
        wrapped_output=wrapped_output,
        description=inspect.cleandoc(function.__doc__ or ""),
        batchable=batching and is_batchable(input_spec) and is_batchable(output_spec),
    )


def _signature(
    name: str, function: Callable[..., Any]
) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise ModelDefinitionError(f"method {name!r}: cannot read its signature ({exc})") from None
    try:
        hints = type_hints_of(function)
    except Exception as exc:  # NameError and friends from unresolvable string annotations
        raise ModelDefinitionError(f"method {name!r}: cannot resolve annotations ({exc})") from None
    parameters = list(signature.parameters.values())
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            star = "*" if parameter.kind == parameter.VAR_POSITIONAL else "**"
            raise ModelDefinitionError(
                f"method {name!r}, parameter {star}{parameter.name}: variadic parameters are "
                "not supported; declare each input as a typed parameter"
            )
        if parameter.name not in hints:
            raise ModelDefinitionError(
                f"method {name!r}, parameter {parameter.name!r} has no type annotation"
            )
    if "return" not in hints:
        raise ModelDefinitionError(f"method {name!r}: the return value has no type annotation")
    return parameters, hints


def _spec(method: str, what: str, annotation: object) -> TypeSpec:
    if annotation is type(None):
        raise ModelDefinitionError(f"method {method!r}, {what}: a method must return a value")
    try:
        return spec_of(annotation)
    except UnsupportedTypeError as exc:
        raise ModelDefinitionError(f"method {method!r}, {what}: {exc}") from None


def _input_message(
    name: str, parameters: list[inspect.Parameter], hints: dict[str, Any]
) -> tuple[MessageSpec, bool]:
    specs = [_spec(name, f"parameter {p.name!r}", hints[p.name]) for p in parameters]
    if len(specs) == 1 and isinstance(specs[0], MessageSpec):
        if parameters[0].kind == parameters[0].KEYWORD_ONLY:
            raise ModelDefinitionError(
                f"method {name!r}, parameter {parameters[0].name!r}: a message parameter "
                "must be positional"
            )
        return specs[0], False
    for parameter in parameters:
        if parameter.kind == parameter.POSITIONAL_ONLY:
            raise ModelDefinitionError(
                f"method {name!r}, parameter {parameter.name!r}: positional-only parameters "
                "cannot be message fields; drop the '/'"
            )
    fields = tuple(
        FieldSpec(p.name, spec, number)
        for number, (p, spec) in enumerate(zip(parameters, specs, strict=True), start=1)
    )
    return MessageSpec(message_base_name(name) + "In", fields, "synthetic"), True


def _output_message(name: str, hints: dict[str, Any]) -> tuple[MessageSpec, bool]:
    spec = _spec(name, "return value", hints["return"])
    if isinstance(spec, MessageSpec):
        return spec, False
    field_spec = FieldSpec(WRAPPED_VALUE_FIELD, spec, 1)
    return MessageSpec(message_base_name(name) + "Out", (field_spec,), "synthetic"), True


def _check_message_names(methods: dict[str, Method]) -> None:
    """Two methods may share a message type, but not a generated name (`get_shape` and
    `getShape` would both make `GetShapeIn`)."""
    generated: dict[str, str] = {}
    for method in methods.values():
        for spec, wrapped in (
            (method.input_spec, method.wrapped_input),
            (method.output_spec, method.wrapped_output),
        ):
            if not wrapped:
                continue
            other = generated.setdefault(spec.name, method.name)
            if other != method.name:
                raise ModelDefinitionError(
                    f"methods {other!r} and {method.name!r} both generate message {spec.name}; "
                    "rename one of them"
                )


def _normalise_sample(method: Method, sample: Any, index: int) -> dict[str, Any]:
    """Turn a sample into natural JSON for the input message and check that it decodes."""
    spec = method.input_spec
    value = sample
    names = spec.field_names
    if method.wrapped_input and not (isinstance(sample, Mapping) and set(sample) <= set(names)):
        if len(names) != 1:
            raise ValueError(
                f"sample {index} of method {method.name!r}: expected a dict with fields "
                f"{list(names)}, got {type(sample).__name__}"
            )
        value = {names[0]: sample}
    try:
        try:
            encoded: dict[str, Any] = to_json(spec, value)
        except OutputError:
            encoded = to_json(spec, to_python(spec, value))  # natural JSON (base64, names...)
        to_python(spec, encoded)
    except (InputError, OutputError) as exc:
        raise ValueError(f"sample {index} of method {method.name!r}: {exc}") from None
    return encoded
