""" "Try it" forms: built from a method's input fields, read back into the method's JSON input,
and the model's answer as a table (pure: no I/O, unit-tested).

The field types are the catalog's readable names of the descriptor set's types (`float`,
`int64`, `bool`, `string`, `list[float]`, a message name, ...). Scalars get a number, text or
checkbox input; a list of scalars one text input whose values are separated by commas (text
lists: one value per line); anything else (a nested message, a map, an array) a JSON box.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["number", "integer", "bool", "text", "json"]

_TEXT_TYPES = frozenset({"string", "str"})
_LIST_PREFIX, _LIST_SUFFIX = "list[", "]"
# Rows of the answer table; the raw JSON beside it always has everything.
MAX_ANSWER_ROWS = 100


@dataclass(frozen=True)
class TryField:
    name: str
    type: str
    kind: Kind
    repeated: bool

    @property
    def input_name(self) -> str:
        return f"field.{self.name}"

    @property
    def hint(self) -> str:
        if self.kind == "json":
            return f"JSON ({self.type})"
        if self.repeated and self.kind == "text":
            return "One value per line."
        if self.repeated:
            return "Values separated by commas, e.g. 1.5, 2, 3."
        return ""


def _scalar_kind(type_name: str) -> Kind:
    if type_name.startswith(("float", "double")):
        return "number"
    if type_name.startswith(("int", "uint", "sint", "fixed", "sfixed")):
        return "integer"
    if type_name == "bool":
        return "bool"
    if type_name in _TEXT_TYPES:
        return "text"
    return "json"


def try_field(name: str, type_name: str) -> TryField:
    if type_name.startswith(_LIST_PREFIX) and type_name.endswith(_LIST_SUFFIX):
        item = _scalar_kind(type_name[len(_LIST_PREFIX) : -len(_LIST_SUFFIX)])
        if item in ("number", "integer", "text"):
            return TryField(name, type_name, item, repeated=True)
        return TryField(name, type_name, "json", repeated=False)
    return TryField(name, type_name, _scalar_kind(type_name), repeated=False)


def try_fields(method: dict[str, Any]) -> list[TryField]:
    return [
        try_field(str(field["name"]), str(field.get("type") or ""))
        for field in method.get("inputs") or []
    ]


def _scalar(kind: Kind, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(text)
        return number
    return text


def _one(field: TryField, raw: str | None) -> Any:
    """The field's JSON value from what was typed; ValueError with a message people act on."""
    text = (raw or "").strip()
    if field.kind == "bool":
        return raw is not None  # an unticked checkbox is not sent
    if field.kind == "json":
        if not text:
            raise ValueError(f"Enter {field.type} as JSON.")
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError("This is not valid JSON.") from None
    what = "whole numbers" if field.kind == "integer" else "numbers"
    if field.repeated:
        parts = text.splitlines() if field.kind == "text" else text.replace(",", " ").split()
        try:
            return [_scalar(field.kind, part.strip()) for part in parts if part.strip()]
        except ValueError:
            raise ValueError(f"Enter {what} separated by commas.") from None
    if field.kind == "text":
        return raw or ""
    one = "a whole number" if field.kind == "integer" else "a number"
    if not text:
        raise ValueError(f"Enter {one}.")
    try:
        return _scalar(field.kind, text)
    except ValueError:
        raise ValueError(f"Enter {one}.") from None


def read_try_form(
    fields: list[TryField], form: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The method's JSON input, and `{input name: message}` for the values that do not parse."""
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        try:
            payload[field.name] = _one(field, form.get(field.input_name))
        except ValueError as exc:
            errors[field.input_name] = str(exc)
    return payload, errors


@dataclass(frozen=True)
class AnswerTable:
    columns: list[str]
    rows: list[list[str]]
    truncated: bool = False


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def answer_table(body: Any) -> AnswerTable | None:
    """The answer as a table: one row per item when every field is a list of one length (a
    batch), else one row per field. None when the answer is not a JSON object."""
    if not isinstance(body, dict) or not body:
        return None
    values = list(body.values())
    lengths = {len(value) for value in values if isinstance(value, list)}
    if all(isinstance(value, list) for value in values) and len(lengths) == 1:
        count = lengths.pop()
        rows = [[_cell(value[index]) for value in values] for index in range(count)]
        return AnswerTable(list(body), rows[:MAX_ANSWER_ROWS], count > MAX_ANSWER_ROWS)
    rows = [[str(key), _cell(value)] for key, value in body.items()]
    return AnswerTable(["field", "value"], rows[:MAX_ANSWER_ROWS], len(rows) > MAX_ANSWER_ROWS)


def problem_message(body: Any) -> str:
    """What a refused call says, in words: the model's problem+json title and detail, and the
    fields it names."""
    if not isinstance(body, dict):
        return str(body or "The model refused the input.")
    parts = [str(body.get(key)) for key in ("title", "detail") if body.get(key)]
    if body.get("field"):
        parts.append(f"field: {body['field']}")
    for entry in body.get("errors") or []:
        if isinstance(entry, dict):
            where = entry.get("field") or ".".join(str(p) for p in entry.get("location") or [])
            parts.append(f"{where}: {entry.get('message', '')}".strip(": "))
    return " — ".join(parts) if parts else "The model refused the input."
