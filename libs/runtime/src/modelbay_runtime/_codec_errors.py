"""Errors of the value codec (re-exported by `modelbay_runtime.codec`)."""

from __future__ import annotations


class _PathError(ValueError):
    """A problem with one value, located by a path such as `items[3].name` or `scores["a"]`.

    Containers prepend their segment while the error travels up (`at`), so the success path
    pays nothing for path bookkeeping.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(path, message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def at(self, segment: str) -> _PathError:
        """Prepend a field name or an `[index]`/`["key"]` segment to the path; returns self."""
        if not self.path:
            self.path = segment
        elif self.path.startswith("["):
            self.path = segment + self.path
        else:
            self.path = f"{segment}.{self.path}"
        self.args = (self.path, self.message)
        return self


class InputError(_PathError):
    """Bad input from a caller: `path` names the field (`sepal_length[3]`), `message` says what
    is wrong. The server answers it with a 4xx problem naming the field."""


class OutputError(_PathError):
    """A model returned a value that does not match its declared output type: the model's own
    failure (the server answers 500 and logs this message)."""


def json_type_name(value: object) -> str:
    """How a value is called in an error message (`a string`, `an object`, `a list`)."""
    names = {
        str: "a string",
        dict: "an object",
        list: "a list",
        bool: "a boolean",
        int: "an integer",
    }
    if value is None:
        return "null"
    return names.get(type(value), f"{type(value).__name__} {value!r}"[:80])
