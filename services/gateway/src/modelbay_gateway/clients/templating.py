"""The client templates (`templates/`, Jinja2): plain source files with a few placeholders, so
the generated code reads as what it is. Values come from the descriptor, never from free text
of the upload, and nothing is autoescaped (none of them is HTML)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("modelbay_gateway.clients", "templates"),
        autoescape=False,  # source code and TOML, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **values: Any) -> str:
    return _environment().get_template(template).render(**values)
