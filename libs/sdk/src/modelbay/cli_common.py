"""Helpers shared by the CLI command modules: consoles and turning errors into exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from modelbay_runtime.loader import BundleError as LoadError
from rich.console import Console
from rich.markup import escape

from modelbay.bundle import BundleError
from modelbay.config import ConfigError
from modelbay.deps import LocalCodeError, RequirementError, ScriptError, SerializationError
from modelbay.model import ModelDefinitionError
from modelbay.session import PushError

# Errors a user can act on: printed as one red line, exit code 1, no traceback.
USER_ERRORS: tuple[type[Exception], ...] = (
    BundleError,
    ConfigError,
    LoadError,
    LocalCodeError,
    ModelDefinitionError,
    PushError,
    RequirementError,
    ScriptError,
    SerializationError,
    FileNotFoundError,
    ModuleNotFoundError,
)


def console() -> Console:
    return Console()


def error_console() -> Console:
    # soft_wrap: an error stays one line however long its paths are (the terminal wraps it
    # on screen; a log or a `grep` sees one line), and rich never breaks a path in two.
    return Console(stderr=True, soft_wrap=True)


@contextmanager
def user_errors(*also: type[Exception]) -> Iterator[None]:
    """USER_ERRORS (and the kinds in `also`) printed as one red line, exit code 1."""
    try:
        yield
    except (*USER_ERRORS, *also) as exc:
        error_console().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
