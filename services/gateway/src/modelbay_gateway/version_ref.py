"""A version in a `/v1` path: its number, or an alias of the model (`stable`, `@stable`,
`latest`) that the catalog resolves for the caller (docs/api.md, "Aliases").

Routes take `version: ResolvedVersion` and get the number; a missing alias is the catalog's
404 `alias-not-found`, an invisible model its no-leak 404.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the dependency's annotations.
from typing import Annotated

from fastapi import Depends, Path
from fastapi.exceptions import RequestValidationError
from modelbay_common.api_params import INT32_MAX

from modelbay_gateway.auth import Reader
from modelbay_gateway.context import ContextDep
from modelbay_gateway.service_curation import resolve_alias
from modelbay_gateway.service_models import caller_of

VERSION_REF_PATTERN = r"^(?:[1-9][0-9]{0,9}|@?[a-z][a-z0-9._-]{0,39})$"


def _out_of_range(version: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "less_than_equal",
                "loc": ("path", "version"),
                "msg": f"Input should be less than or equal to {INT32_MAX}",
                "input": version,
                "ctx": {"le": INT32_MAX},
            }
        ]
    )


async def resolved_version(
    owner: str,
    name: str,
    version: Annotated[
        str,
        Path(
            pattern=VERSION_REF_PATTERN,
            description="a version number (1 to 2147483647) or an alias: `stable`, `@stable`, "
            "`latest` (the newest ready version)",
        ),
    ],
    principal: Reader,
    context: ContextDep,
) -> int:
    if version.isdigit():
        number = int(version)
        if number > INT32_MAX:
            raise _out_of_range(version)
        return number
    alias = version.removeprefix("@")
    found = await resolve_alias(context.upstreams, caller_of(principal), owner, name, alias)
    return found.version


ResolvedVersion = Annotated[int, Depends(resolved_version)]
"""The version number a `{version}` path segment names (a number or an alias)."""
