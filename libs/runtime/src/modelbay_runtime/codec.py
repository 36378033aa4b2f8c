"""The value codec: natural JSON ↔ Python objects of the declared types, and protobuf ↔ dict.

Natural JSON is what a person would write: ints as numbers (int64 also as a decimal string, as
proto3 JSON allows), floats as numbers or "NaN"/"Infinity"/"-Infinity", enums by member name
(or number), bytes as base64 text (or raw `bytes` on the Python side), a missing or null field
means its proto3 default, an unknown field is an error.

Every converter is compiled once per spec (a tree of closures) and cached, so a request pays
for one pass over its data and no isinstance walk over the spec. All functions here are
thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from google.protobuf.message import Message

from modelbay_runtime._codec_decode import build_decoder
from modelbay_runtime._codec_encode import build_encoder
from modelbay_runtime._codec_errors import InputError, OutputError
from modelbay_runtime._codec_protobuf import build_message_reader, build_message_writer
from modelbay_runtime.types import WRAPPED_VALUE_FIELD, MessageSpec, TypeSpec

__all__ = [
    "InputError",
    "OutputError",
    "compile_decoder",
    "compile_encoder",
    "dict_to_message",
    "load_message_classes",
    "make_json_caller",
    "message_to_dict",
    "to_json",
    "to_python",
]

Converter = Callable[[Any], Any]
M = TypeVar("M", bound=Message)

# Keyed by id(spec); the spec is stored alongside so the id cannot be reused while cached.
_decoders: dict[int, tuple[TypeSpec, Converter]] = {}
_encoders: dict[int, tuple[TypeSpec, Converter]] = {}
_readers: dict[int, tuple[TypeSpec, Callable[[Message], dict[str, Any]]]] = {}
_writers: dict[int, tuple[TypeSpec, Callable[[Any, Any], None]]] = {}


def compile_decoder(spec: TypeSpec) -> Converter:
    """The cached converter natural JSON → Python value for `spec` (raises InputError)."""
    entry = _decoders.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = (spec, build_decoder(spec, compile_decoder))
        _decoders[id(spec)] = entry
    return entry[1]


def compile_encoder(spec: TypeSpec) -> Converter:
    """The cached converter Python value → natural JSON for `spec` (raises OutputError)."""
    entry = _encoders.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = (spec, build_encoder(spec, compile_encoder))
        _encoders[id(spec)] = entry
    return entry[1]


def to_python(spec: TypeSpec, value: Any) -> Any:
    """Decode natural JSON (as parsed by `json.loads`, or a dict from `message_to_dict`) into
    the Python value the model expects: NamedTuple/dataclass/pydantic instances (a plain dict
    for synthetic messages), Enum members, numpy arrays of the declared dtype, DataFrames.

    Raises `InputError(path, message)`, path like `sepal_length[3]` or `scores["a"].x`.
    """
    return compile_decoder(spec)(value)


def to_json(spec: TypeSpec, value: Any) -> Any:
    """Encode a Python value (what a model returned) into natural JSON-ready Python: dicts,
    lists, str, int, float, bool, None, and `bytes` (left for the caller to base64).

    Accepts numpy arrays/scalars where lists/scalars are declared, tuples for lists, instances
    of the declared class or dicts or plain tuples for messages, DataFrames for DataFrame specs.
    Non-finite floats become "NaN"/"Infinity"/"-Infinity". Raises `OutputError(path, message)`.
    """
    return compile_encoder(spec)(value)


def make_json_caller(
    function: Callable[..., Any],
    input_spec: MessageSpec,
    output_spec: MessageSpec,
    *,
    wrapped_input: bool,
    wrapped_output: bool,
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Wrap a model method as natural-JSON dict in → natural-JSON-ready dict out.

    `wrapped_input`: the input message's fields are the function's keyword arguments;
    otherwise the function gets one instance of the input message class. `wrapped_output`: the
    return value is the `value` field of the output message. Bad input raises InputError
    (before the function runs); a return value that does not fit raises OutputError.
    """
    decode = compile_decoder(input_spec)
    encode = compile_encoder(output_spec)

    def call(payload: Mapping[str, Any]) -> dict[str, Any]:
        arguments = decode(payload)
        result = function(**arguments) if wrapped_input else function(arguments)
        output: dict[str, Any] = encode({WRAPPED_VALUE_FIELD: result} if wrapped_output else result)
        return output

    return call


def message_to_dict(message: Message, spec: MessageSpec) -> dict[str, Any]:
    """Read a protobuf message (of the class generated for `spec`) into the natural dict that
    `to_python` takes: every field present (proto3 defaults included), enums by member name
    (None for a generated UNSPECIFIED), wrappers unwrapped, n-d arrays as numpy arrays."""
    entry = _readers.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = (spec, build_message_reader(spec))
        _readers[id(spec)] = entry
    return entry[1](message)


def dict_to_message(data: Mapping[str, Any], spec: MessageSpec, message_class: type[M]) -> M:
    """Build a `message_class` message (the class generated for `spec`) from a natural dict as
    `to_json` returns it. Much faster than `google.protobuf.json_format`, and int64 stays int."""
    entry = _writers.get(id(spec))
    if entry is None or entry[0] is not spec:
        entry = (spec, build_message_writer(spec))
        _writers[id(spec)] = entry
    message = message_class()
    entry[1](message, data)
    return message


def load_message_classes(descriptor_set: bytes) -> dict[str, type[Message]]:
    """Dynamic message classes for every message in a serialized `FileDescriptorSet`, keyed by
    fully qualified proto name (`modelbay.iris.ClassifyIn`). Uses a private descriptor pool,
    so several models (or versions) can be loaded in one process without clashing."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    file_set = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    pool = descriptor_pool.DescriptorPool()
    return dict(message_factory.GetMessages(list(file_set.file), pool=pool))
