"""A model version's protobuf interface, from its descriptor set: describe it, diff two versions
(the marketplace's interface diff), and check that one model's output can feed another's input
(a solution's typed connections). Pure functions; no I/O.
"""

from modelbay_common.interface.compatibility import (
    AppliedMapping,
    ConnectionCheck,
    FieldMismatch,
    MappedField,
    apply_mapping,
    check_connection,
    check_method_connection,
)
from modelbay_common.interface.describe import (
    Cardinality,
    EnumDescription,
    EnumValueDescription,
    FieldDescription,
    InterfaceDescription,
    InterfaceDescriptionError,
    MessageDescription,
    MethodDescription,
    TypeRef,
    describe_descriptor_set,
)
from modelbay_common.interface.diff import (
    ChangeKind,
    InterfaceChange,
    InterfaceDiff,
    diff_interfaces,
)
from modelbay_common.interface.paper_rule import meets_paper_rule

__all__ = [
    "AppliedMapping",
    "Cardinality",
    "ChangeKind",
    "ConnectionCheck",
    "EnumDescription",
    "EnumValueDescription",
    "FieldDescription",
    "FieldMismatch",
    "InterfaceChange",
    "InterfaceDescription",
    "InterfaceDescriptionError",
    "InterfaceDiff",
    "MappedField",
    "MessageDescription",
    "MethodDescription",
    "TypeRef",
    "apply_mapping",
    "check_connection",
    "check_method_connection",
    "describe_descriptor_set",
    "diff_interfaces",
    "meets_paper_rule",
]
