"""Listing what a pickle stream imports, without unpickling it (docs/trust.md, "Pickle scanning").

A pickle runs code at load only through what it imports: `GLOBAL`/`INST` name a module and an
attribute in their argument, `STACK_GLOBAL` takes them from the two strings on top of the stack,
and cloudpickle's `subimport(name)` (how a by-value function refers to a module such as `np`)
imports a whole module through a `REDUCE`. The scanner walks the opcodes with the standard
library's `pickletools.genops` and keeps a shallow model of the unpickler's stack and memo —
strings, tuples, marks and the callables it resolved; everything else is "some object" — so the
strings pushed before `STACK_GLOBAL` are found even when they come back from the memo.

Whatever cannot be resolved is reported, never guessed: a `STACK_GLOBAL` whose operands are not
strings the scanner saw pushed, and the copyreg extension codes (`EXT1/2/4`), become globals of
the module `?` that the policy blocks. Bundles written by pickle or cloudpickle never need either.
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass
from typing import IO

# Module name of the globals the scanner could not resolve (blocked by the policy).
UNRESOLVED_MODULE = "?"
# cloudpickle's module-import helpers: their one argument is the module they import.
_MODULE_IMPORTERS = frozenset(
    {
        ("cloudpickle.cloudpickle", "subimport"),
        ("cloudpickle.cloudpickle", "dynamic_subimport"),
        ("cloudpickle.cloudpickle_fast", "subimport"),
    }
)
_STRING_OPS = frozenset(
    {
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
    }
)
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MARK_NAME = pickletools.markobject.name


@dataclass(frozen=True, order=True)
class PickleGlobal:
    """One import a pickle asks for: `module.name`, or `module.*` for a whole module."""

    module: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


class UnreadablePickleError(ValueError):
    """The bytes are not a pickle stream pickletools can walk (the unpickler would fail too)."""


class _Mark:
    """The MARK opcode's stack entry."""


class _Unknown:
    """Any value the scanner does not model."""


@dataclass(frozen=True)
class _Callable:
    """A value a global resolved to, so a later REDUCE knows what it calls."""

    target: PickleGlobal


_MARK = _Mark()
_UNKNOWN = _Unknown()
_Value = str | tuple[object, ...] | _Mark | _Unknown | _Callable


class _Machine:
    """The shallow unpickler: a stack, a memo, and the globals met so far."""

    def __init__(self) -> None:
        self.stack: list[_Value] = []
        self.memo: dict[int, _Value] = {}
        self.found: set[PickleGlobal] = set()

    def pop(self) -> _Value:
        # A malformed stream could underflow; the real unpickler refuses it, we only keep going.
        return self.stack.pop() if self.stack else _UNKNOWN

    def pop_to_mark(self) -> list[_Value]:
        items: list[_Value] = []
        while self.stack:
            value = self.stack.pop()
            if isinstance(value, _Mark):
                break
            items.append(value)
        items.reverse()
        return items

    def top(self) -> _Value:
        return self.stack[-1] if self.stack else _UNKNOWN

    def record(self, module: str, name: str) -> _Callable:
        found = PickleGlobal(module, name)
        self.found.add(found)
        return _Callable(found)

    def step(self, op: pickletools.OpcodeInfo, arg: object) -> None:
        name = op.name
        if name in _STRING_OPS:
            self.stack.append(arg if isinstance(arg, str) else _UNKNOWN)
        elif name in _MEMO_GETS:
            self.stack.append(self.memo.get(int(arg), _UNKNOWN))  # type: ignore[call-overload]
        elif name in _MEMO_PUTS:
            self.memo[int(arg)] = self.top()  # type: ignore[call-overload]
        elif name == "MEMOIZE":
            self.memo[len(self.memo)] = self.top()
        elif name == "DUP":
            self.stack.append(self.top())
        elif name in ("GLOBAL", "INST"):
            module, _, attribute = str(arg).partition(" ")
            if name == "INST":
                self.pop_to_mark()
            self.stack.append(self.record(module, attribute))
        elif name == "STACK_GLOBAL":
            top, below = self.pop(), self.pop()
            if isinstance(below, str) and isinstance(top, str):
                self.stack.append(self.record(below, top))
            else:
                self.stack.append(self.record(UNRESOLVED_MODULE, "STACK_GLOBAL"))
        elif name.startswith("EXT"):
            self.stack.append(self.record(UNRESOLVED_MODULE, f"extension-{arg}"))
        elif name == "EMPTY_TUPLE":
            self.stack.append(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            items = [self.pop() for _ in range(count)]
            self.stack.append(tuple(reversed(items)))
        elif name == "TUPLE":
            self.stack.append(tuple(self.pop_to_mark()))
        elif name == "REDUCE":
            arguments, function = self.pop(), self.pop()
            self._note_module_import(function, arguments)
            self.stack.append(_UNKNOWN)
        else:
            self._generic(op)

    def _note_module_import(self, function: _Value, arguments: _Value) -> None:
        if not isinstance(function, _Callable):
            return
        target = function.target
        if (target.module, target.name) not in _MODULE_IMPORTERS:
            return
        if isinstance(arguments, tuple) and arguments and isinstance(arguments[0], str):
            self.record(arguments[0], "*")
        else:
            self.record(UNRESOLVED_MODULE, target.name)

    def _generic(self, op: pickletools.OpcodeInfo) -> None:
        """Any other opcode: pop what it takes, push "some object" for what it leaves."""
        before = [item.name for item in op.stack_before]
        if _MARK_NAME in before:
            self.pop_to_mark()
            for _ in range(before.index(_MARK_NAME)):
                self.pop()
        else:
            for _ in before:
                self.pop()
        for item in op.stack_after:
            self.stack.append(_MARK if item.name == _MARK_NAME else _UNKNOWN)


def scan_pickle(stream: IO[bytes]) -> tuple[PickleGlobal, ...]:
    """Every global the pickle at the head of `stream` imports, sorted; reads up to its STOP.

    Raises UnreadablePickleError when the stream is not a pickle. Memory: the largest single
    opcode argument (pickletools reads each one whole), never the objects themselves.
    """
    machine = _Machine()
    try:
        for op, arg, _position in pickletools.genops(stream):
            machine.step(op, arg)
    except (ValueError, EOFError, UnicodeDecodeError, OverflowError) as exc:
        raise UnreadablePickleError(str(exc) or type(exc).__name__) from None
    return tuple(sorted(machine.found))
