"""The languages a client package can be generated in, and how each is packaged."""

from __future__ import annotations

from enum import StrEnum


class ClientLanguage(StrEnum):
    PYTHON = "python"
    TYPESCRIPT = "typescript"
    JAVA = "java"
