"""The "Try it" form: fields from the interface's types, the form read back into JSON input,
and the model's answer as a table or a readable refusal (web/try_it.py)."""

from __future__ import annotations

from modelbay_gateway.web.try_it import (
    answer_table,
    problem_message,
    read_try_form,
    try_field,
    try_fields,
)


def test_field_kinds_follow_the_descriptor_types() -> None:
    kinds = {
        "float": ("number", False),
        "float64": ("number", False),
        "double": ("number", False),
        "int64": ("integer", False),
        "uint32": ("integer", False),
        "bool": ("bool", False),
        "string": ("text", False),
        "list[float]": ("number", True),
        "list[int32]": ("integer", True),
        "list[string]": ("text", True),
        "list[Point]": ("json", False),
        "dict[str, float]": ("json", False),
        "ndarray[float32, (?, 3)]": ("json", False),
        "Nested": ("json", False),
        "bytes": ("json", False),
    }
    for type_name, (kind, repeated) in kinds.items():
        field = try_field("x", type_name)
        assert (field.kind, field.repeated) == (kind, repeated), type_name


def test_the_form_becomes_the_methods_json_input() -> None:
    method = {
        "inputs": [
            {"name": "lengths", "type": "list[float]"},
            {"name": "count", "type": "int64"},
            {"name": "label", "type": "string"},
            {"name": "words", "type": "list[string]"},
            {"name": "strict", "type": "bool"},
            {"name": "loose", "type": "bool"},
            {"name": "extra", "type": "Extra"},
        ]
    }
    fields = try_fields(method)
    form = {
        "field.lengths": "5.1, 6.7 2",
        "field.count": " 3 ",
        "field.label": "a, b",
        "field.words": "one\ntwo, three\n",
        "field.strict": "true",
        "field.extra": '{"k": [1, 2]}',
    }
    payload, errors = read_try_form(fields, form)
    assert errors == {}
    assert payload == {
        "lengths": [5.1, 6.7, 2.0],
        "count": 3,
        "label": "a, b",
        "words": ["one", "two, three"],
        "strict": True,
        "loose": False,
        "extra": {"k": [1, 2]},
    }


def test_values_that_do_not_parse_are_named_per_field() -> None:
    fields = try_fields(
        {
            "inputs": [
                {"name": "lengths", "type": "list[float]"},
                {"name": "count", "type": "int64"},
                {"name": "ratio", "type": "float"},
                {"name": "extra", "type": "Extra"},
            ]
        }
    )
    form = {"field.lengths": "1, x", "field.count": "2.5", "field.ratio": "nan"}
    form["field.extra"] = "{not json"
    _, errors = read_try_form(fields, form)
    assert errors == {
        "field.lengths": "Enter numbers separated by commas.",
        "field.count": "Enter a whole number.",
        "field.ratio": "Enter a number.",
        "field.extra": "This is not valid JSON.",
    }
    _, empty = read_try_form(fields, {})
    assert empty["field.count"] == "Enter a whole number."
    assert "field.lengths" not in empty  # an empty list is a valid list


def test_a_batch_answer_is_one_row_per_item() -> None:
    table = answer_table({"IrisType": [0, 2], "score": [0.9, 0.8]})
    assert table is not None
    assert table.columns == ["IrisType", "score"]
    assert table.rows == [["0", "0.9"], ["2", "0.8"]]


def test_other_answers_are_one_row_per_field() -> None:
    table = answer_table({"label": "cat", "scores": {"cat": 0.9}, "top": [1, 2, 3], "n": 1})
    assert table is not None
    assert table.columns == ["field", "value"]
    assert table.rows[0] == ["label", "cat"]
    assert table.rows[1] == ["scores", '{"cat": 0.9}']
    assert answer_table([1, 2]) is None
    assert answer_table({}) is None


def test_a_refusal_reads_as_the_models_problem() -> None:
    problem = {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 422,
        "detail": "sepal_length: expected a list of numbers",
        "field": "sepal_length",
    }
    message = problem_message(problem)
    assert "Invalid input" in message
    assert "sepal_length: expected a list of numbers" in message
    assert "field: sepal_length" in message
    assert problem_message("bad gateway") == "bad gateway"
