"""What changed in a model's interface between two versions, and whether it breaks callers.

Invariants the tests enumerate:

- Identical descriptor sets give no change. The diff is structural: renaming a *message or enum
  type* changes nothing a caller sends or reads (protobuf carries numbers, Modelbay's JSON field
  and member names), so it is not a change; renaming a *field* or an enum *member* is one.
- Fields are matched by name, then, among the unmatched, by number (that pairing is a rename).
- **breaking**: a method removed; a field removed, renamed, renumbered, retyped or changing
  cardinality (singular / optional / repeated / map); an enum value removed, renamed or
  renumbered; a field added at a number the old message used (old callers' bytes would be read
  as the new field). Renames break because Modelbay's JSON keys fields by name and refuses
  unknown ones, even though protobuf bytes would still decode. Any scalar change breaks, widening
  included (`int32` → `int64`): the method receives the declared numpy dtype.
- **additive**: a method added, a field added at a new number, an enum value added at a new
  number. Added input fields are additive because an absent field takes its proto3 default.
- Message-typed fields are compared recursively (map values and repeated elements too), each
  (old, new) message pair once per method and direction, so recursive types terminate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from modelbay_common.interface.describe import (
    EnumDescription,
    FieldDescription,
    InterfaceDescription,
    MessageDescription,
    describe_descriptor_set,
)

__all__ = ["ChangeKind", "InterfaceChange", "InterfaceDiff", "diff_interfaces"]

Classification = Literal["breaking", "additive"]
Direction = Literal["input", "output"]
ChangeKind = Literal[
    "method_added",
    "method_removed",
    "field_added",
    "field_removed",
    "field_renamed",
    "field_renumbered",
    "field_retyped",
    "field_cardinality_changed",
    "enum_value_added",
    "enum_value_removed",
    "enum_value_renamed",
    "enum_value_renumbered",
]


class InterfaceChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChangeKind
    classification: Classification
    method: str
    direction: Direction | None = None
    """Whether the change is in the method's request or its response; `None` for methods."""
    path: str | None = None
    """The field's path from the method's message: `detail.score`, `all[].label`,
    `by_name{}.score` (`[]` = each element of a repeated field, `{}` = each map value)."""
    before: str | None = None
    """What changed, as it was: the old name, number (`4`), type (`double`) or cardinality;
    `double, 4` for a removed field, `MEMBER = 2` for a removed enum value; `None` if added."""
    after: str | None = None
    """The same, as it is now; `None` for a removal."""
    message: str
    """For people: `classify: input field petal_width (double, 4) removed`."""


class InterfaceDiff(BaseModel):
    """The changes from one version's interface to the next, as the catalog API returns it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    breaking: bool
    breaking_changes: int
    additive_changes: int
    changes: tuple[InterfaceChange, ...]

    @classmethod
    def of(cls, changes: list[InterfaceChange]) -> InterfaceDiff:
        breaking = sum(change.classification == "breaking" for change in changes)
        return cls(
            breaking=breaking > 0,
            breaking_changes=breaking,
            additive_changes=len(changes) - breaking,
            changes=tuple(changes),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def lines(self) -> list[str]:
        """One line per change, breaking ones marked (for `modelbay push` and logs)."""
        return [
            f"{'BREAKING' if c.classification == 'breaking' else 'added'}: {c.message}"
            for c in self.changes
        ]


def diff_interfaces(
    old: InterfaceDescription | bytes, new: InterfaceDescription | bytes
) -> InterfaceDiff:
    """Every change from `old` to `new` (descriptions or serialized descriptor sets).

    Methods appear in the old version's order, added methods last. Raises
    `InterfaceDescriptionError` when bytes are not a descriptor set.
    """
    before, after = _described(old), _described(new)
    changes: list[InterfaceChange] = []
    for name, method in before.methods.items():
        if name not in after.methods:
            signature = f"({_short(method.input_message)}) → {_short(method.output_message)}"
            changes.append(_method_change("method_removed", name, f"{name} {signature}"))
            continue
        replacement = after.methods[name]
        sides: tuple[tuple[Direction, str, str], ...] = (
            ("input", method.input_message, replacement.input_message),
            ("output", method.output_message, replacement.output_message),
        )
        for direction, old_message, new_message in sides:
            differ = _MessageDiffer(before, after, name, direction, changes)
            differ.compare(before.message(old_message), after.message(new_message), "")
    for name, method in after.methods.items():
        if name not in before.methods:
            signature = f"({_short(method.input_message)}) → {_short(method.output_message)}"
            changes.append(_method_change("method_added", name, f"{name} {signature}"))
    return InterfaceDiff.of(changes)


def _described(interface: InterfaceDescription | bytes) -> InterfaceDescription:
    if isinstance(interface, InterfaceDescription):
        return interface
    return describe_descriptor_set(interface)


def _short(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


def _method_change(kind: ChangeKind, name: str, signature: str) -> InterfaceChange:
    added = kind == "method_added"
    return InterfaceChange(
        kind=kind,
        classification="additive" if added else "breaking",
        method=name,
        before=None if added else signature,
        after=signature if added else None,
        message=f"method {signature} {'added' if added else 'removed'}",
    )


@dataclass
class _MessageDiffer:
    """Compares one method's request (or response) message of two versions, recursively."""

    before: InterfaceDescription
    after: InterfaceDescription
    method: str
    direction: Direction
    changes: list[InterfaceChange]
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def compare(self, old: MessageDescription, new: MessageDescription, prefix: str) -> None:
        if (old.full_name, new.full_name) in self._seen:
            return
        self._seen.add((old.full_name, new.full_name))
        pairs, removed, added = _pair_fields(old, new)
        for old_field, new_field in pairs:
            self._compare_fields(old_field, new_field, prefix)
        for gone in removed:
            self._field_change("field_removed", "breaking", gone, prefix, "removed")
        old_numbers = {f.number for f in old.fields}
        for extra in added:
            if extra.number in old_numbers:
                previous = old.field_numbered(extra.number)
                taken = previous.name if previous is not None else "another field"
                what = f"added at number {extra.number}, which {taken} used in the old version"
                self._field_change("field_added", "breaking", extra, prefix, what)
            else:
                self._field_change("field_added", "additive", extra, prefix, "added")

    def _compare_fields(self, old: FieldDescription, new: FieldDescription, prefix: str) -> None:
        differences: list[tuple[ChangeKind, str, str, str]] = []  # kind, what, before, after
        if old.name != new.name:
            differences.append(("field_renamed", f"renamed to {new.name}", old.name, new.name))
        if old.number != new.number:
            what = f"renumbered to {new.number}"
            differences.append(("field_renumbered", what, str(old.number), str(new.number)))
        if old.cardinality != new.cardinality:
            what = f"changed from {old.cardinality} to {new.cardinality} ({new.type_text})"
            differences.append(
                ("field_cardinality_changed", what, old.cardinality, new.cardinality)
            )
        retyped = not _same_kind(old, new)
        if retyped:
            what = f"retyped to {new.type_text}"
            differences.append(("field_retyped", what, old.type_text, new.type_text))
        for kind, what, before, after in differences:
            self._field_change(kind, "breaking", old, prefix, what, (before, after))
        if retyped:
            return
        path = _path(prefix, old)
        if old.type.kind == "message":
            self.compare(
                self.before.message(old.type.name), self.after.message(new.type.name), path
            )
        elif old.type.kind == "enum":
            self._compare_enums(
                old, self.before.enum(old.type.name), self.after.enum(new.type.name), prefix
            )

    def _compare_enums(
        self, owner: FieldDescription, old: EnumDescription, new: EnumDescription, prefix: str
    ) -> None:
        if (old.full_name, new.full_name) in self._seen:
            return
        self._seen.add((old.full_name, new.full_name))
        old_numbers = {v.number for v in old.values}
        renamed_to: set[str] = set()
        for value in old.values:
            same_member = new.value_member(value.member)
            if same_member is not None:
                if same_member.number != value.number:
                    what = f"renumbered to {same_member.number}"
                    self._enum_change(
                        "enum_value_renumbered", owner, prefix, value.member, value.number, what
                    )
                continue
            same_number = new.value_numbered(value.number)
            if same_number is not None and old.value_member(same_number.member) is None:
                renamed_to.add(same_number.member)
                self._enum_change(
                    "enum_value_renamed",
                    owner,
                    prefix,
                    value.member,
                    value.number,
                    f"renamed to {same_number.member}",
                )
            else:
                self._enum_change(
                    "enum_value_removed", owner, prefix, value.member, value.number, "removed"
                )
        for value in new.values:
            if old.value_member(value.member) is not None or value.member in renamed_to:
                continue
            reused = value.number in old_numbers
            self._enum_change(
                "enum_value_added",
                owner,
                prefix,
                value.member,
                value.number,
                "added at a number the old version used" if reused else "added",
                breaking=reused,
            )

    def _field_change(
        self,
        kind: ChangeKind,
        classification: Classification,
        subject: FieldDescription,
        prefix: str,
        what: str,
        values: tuple[str | None, str | None] | None = None,
    ) -> None:
        """`values`: (before, after); by default the field's type and number on the side where
        it exists (before for a removal, after for an addition)."""
        path = _path(prefix, subject).rstrip("[]{}")
        described = f"{subject.type_text}, {subject.number}"
        if values is None:
            values = (None, described) if kind == "field_added" else (described, None)
        self.changes.append(
            InterfaceChange(
                kind=kind,
                classification=classification,
                method=self.method,
                direction=self.direction,
                path=path,
                before=values[0],
                after=values[1],
                message=f"{self.method}: {self.direction} field {path} ({described}) {what}",
            )
        )

    def _enum_change(
        self,
        kind: ChangeKind,
        owner: FieldDescription,
        prefix: str,
        member: str,
        number: int,
        what: str,
        *,
        breaking: bool = True,
    ) -> None:
        path = _path(prefix, owner).rstrip("[]{}")
        self.changes.append(
            InterfaceChange(
                kind=kind,
                classification="breaking" if breaking else "additive",
                method=self.method,
                direction=self.direction,
                path=path,
                before=None if kind == "enum_value_added" else f"{member} = {number}",
                after=f"{member} = {number}" if kind == "enum_value_added" else None,
                message=(
                    f"{self.method}: {self.direction} field {path} ({owner.type_text}, "
                    f"{owner.number}) enum value {member} ({number}) {what}"
                ),
            )
        )


def _pair_fields(
    old: MessageDescription, new: MessageDescription
) -> tuple[
    list[tuple[FieldDescription, FieldDescription]], list[FieldDescription], list[FieldDescription]
]:
    """(old, new) pairs by name, then by number among the rest; then the unpaired of each."""
    pairs = [(f, g) for f in old.fields if (g := new.field_named(f.name)) is not None]
    paired_new = {g.name for _, g in pairs}
    unpaired_old = [f for f in old.fields if new.field_named(f.name) is None]
    unpaired_new = [g for g in new.fields if g.name not in paired_new]
    removed: list[FieldDescription] = []
    for gone in unpaired_old:
        same_number = next((g for g in unpaired_new if g.number == gone.number), None)
        if same_number is None:
            removed.append(gone)
        else:
            pairs.append((gone, same_number))
            unpaired_new.remove(same_number)
    return pairs, removed, unpaired_new


def _same_kind(old: FieldDescription, new: FieldDescription) -> bool:
    """Same scalar (or both messages, or both enums, compared structurally by the caller), and
    for maps the same key type."""
    if old.type.kind != new.type.kind:
        return False
    if old.type.is_scalar and old.type.name != new.type.name:
        return False
    old_key = old.key_type.name if old.key_type is not None else None
    new_key = new.key_type.name if new.key_type is not None else None
    return old_key == new_key or old_key is None or new_key is None


def _path(prefix: str, subject: FieldDescription) -> str:
    """`prefix.name`, marked `[]` when repeated and `{}` when a map, for the fields below it."""
    mark = {"repeated": "[]", "map": "{}"}.get(subject.cardinality, "")
    return f"{prefix}.{subject.name}{mark}" if prefix else f"{subject.name}{mark}"
