"""Token names (`POST /v1/tokens`, `POST /v1/users`): found by the abuse suite, a NUL or a lone
surrogate in a name reached Postgres and was a 500; now a 422 from validation."""

from __future__ import annotations

import pytest
from modelbay_gateway.schemas import TokenIn, UserIn
from pydantic import ValidationError

# pydantic refuses the lone surrogate itself ("unable to parse ... as a unicode string").
REFUSAL = "printable characters only|unicode string"


@pytest.mark.parametrize("name", ["ci\x00", "lap\ud800top", "tab\there", "bell\x07"])
def test_names_with_control_characters_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=REFUSAL):
        TokenIn(name=name)
    with pytest.raises(ValidationError, match=REFUSAL):
        UserIn(username="alice", token_name=name)


@pytest.mark.parametrize("name", ["laptop", "CI pipeline", "Zoë's phone", "  padded  "])
def test_ordinary_names_are_accepted(name: str) -> None:
    assert TokenIn(name=name).name == name.strip()
