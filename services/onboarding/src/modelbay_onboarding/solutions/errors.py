"""Refusals of a pushed solution; each names the node (extension `node`) when one is at fault."""

from __future__ import annotations

from modelbay_common.errors import Conflict, UnprocessableContent


class InvalidSolution(UnprocessableContent):
    """The document breaks the solution format (`problems`: where and what)."""

    title = "Invalid solution document"
    type_slug = "invalid-solution"


class IncompatibleSolution(UnprocessableContent):
    """A connection does not type-check; `detail` explains it field by field, `connections`
    carries the machine-readable checks."""

    title = "Incompatible connections"
    type_slug = "incompatible-solution"


class SolutionNodeUnavailable(UnprocessableContent):
    """A node names a version the pusher may not see (missing, deleted or private: the answer
    does not say which, like every read of the catalog)."""

    title = "Solution node unavailable"
    type_slug = "solution-node-unavailable"


class SolutionNodeNotReady(Conflict):
    """A node's version exists but is not `ready` (still building, or failed)."""

    title = "Solution node not ready"
    type_slug = "solution-node-not-ready"
