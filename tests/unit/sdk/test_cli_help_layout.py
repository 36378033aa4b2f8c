"""`modelbay --help` and every command's help read as paragraphs: no sentence broken mid-line by
a hard line break of the docstring, at 80 and at 120 columns.

A line break is "hard" when the line stopped short: the next line's first word would have fitted
after it, and the line does not end a sentence or a clause. Rich's own wrapping never does that.
"""

from __future__ import annotations

import itertools
import re

import click
import pytest
import typer
import typer.rich_utils
from modelbay.cli import build_app
from typer.testing import CliRunner

WIDTHS = (80, 120)
SENTENCE_END = (".", ":", ";", "!", "?", ")")
BOX_ROW = re.compile(r"^│ (?P<name>\S.*?\s{2,}|\s+)(?P<text>\S.*?)\s*│$")


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(build_app())
    paths: list[list[str]] = [[]]

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                paths.append([*path, name])
                walk(sub, [*path, name])

    walk(root, [])
    return paths


def _help(path: list[str], width: int, monkeypatch: pytest.MonkeyPatch) -> str:
    # typer reads TERMINAL_WIDTH once, at import: set what it derived from it.
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", width)
    result = CliRunner().invoke(build_app(), [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def _hard_breaks(output: str) -> list[str]:
    """Pairs of lines of one paragraph or table cell where the first stopped short."""
    found = []
    lines = output.splitlines()
    for current, following in itertools.pairwise(lines):
        current_row, following_row = BOX_ROW.match(current), BOX_ROW.match(following)
        if current_row and following_row:
            if following_row["name"].strip():  # the next row is another option or command
                continue
            text, next_text = current_row["text"], following_row["text"]
            room = len(current) - 2 - current_row.start("text")
        elif current.startswith(" ") and following.startswith(" ") and not current_row:
            text, next_text = current.strip(), following.strip()
            room = len(current.rstrip("\n")) - 1
        else:
            continue
        if not text or not next_text or text.endswith(SENTENCE_END) or next_text[0] in "[-│╰":
            continue
        if len(text) + 1 + len(next_text.split()[0]) <= room:
            found.append(f"{text!r} / {next_text!r}")
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_no_help_text_breaks_a_sentence_mid_line(
    width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems = {
        " ".join(["modelbay", *path]): breaks
        for path in _command_paths()
        if (breaks := _hard_breaks(_help(path, width, monkeypatch)))
    }
    assert problems == {}


@pytest.mark.parametrize("width", WIDTHS)
def test_help_uses_the_whole_width(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    output = _help([], width, monkeypatch)
    assert max(len(line) for line in output.splitlines()) == width
    assert "interface, pickled methods" in " ".join(output.split())  # one paragraph, joined
