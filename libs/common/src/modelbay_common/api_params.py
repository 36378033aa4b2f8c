"""Bounds of the integers every API takes in a path or a query, checked at the edge.

Version numbers are Postgres `integer` columns (int32). An unbounded `int` parameter let a number
above 2**31 - 1 reach asyncpg, which refused to encode it: the catalog answered 500 and the
gateway 502 (issue 11, defect 7). Bounding the parameter turns that into a 422 problem+json
naming the parameter, before any I/O. Every service and the gateway use these aliases so the
bound lives once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

INT32_MAX = 2**31 - 1
"""The largest value of a Postgres `integer` column (version numbers, build attempts)."""

INT64_MAX = 2**63 - 1
"""The largest value of a Postgres `bigint` column (identities such as comment ids)."""

VersionNumber = Annotated[
    int, Path(ge=1, le=INT32_MAX, description="a version number, 1 to 2147483647")
]
"""A version number in a path (`.../versions/{version}`)."""

OptionalVersionQuery = Annotated[
    int | None, Query(ge=1, le=INT32_MAX, description="only this version (1 to 2147483647)")
]
"""A version number in a query string, absent meaning every version."""
