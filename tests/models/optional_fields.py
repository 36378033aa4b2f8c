"""A model with optional fields (`Optional[T]` and `T | None`): proto3 `optional`, where an absent
value (JSON null or a missing key, an unset field over protobuf) is None and a zero is a zero."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple, Optional

from modelbay import Model

EXPECTED: set[str] = set()


class Channel(Enum):
    WEB = 1
    BRANCH = 2


class Applicant(NamedTuple):
    income: float
    debts: Optional[float]  # noqa: UP045 - both spellings are part of the corpus
    years_employed: int | None
    channel: Channel | None


class Assessment(NamedTuple):
    ratio: float | None
    missing: list[str]
    channel: Channel | None


def assess(applicant: Applicant) -> Assessment:
    """Debt-to-income ratio when the debts are known (0 debts is a ratio of 0, not unknown)."""
    missing = [
        name for name in ("debts", "years_employed", "channel") if getattr(applicant, name) is None
    ]
    ratio = None if applicant.debts is None else round(applicant.debts / applicant.income, 4)
    return Assessment(ratio=ratio, missing=missing, channel=applicant.channel)


model = Model(
    assess=assess,
    samples={
        "assess": [
            {"income": 4000.0, "debts": 1000.0, "years_employed": 0, "channel": "WEB"},
            {"income": 4000.0, "debts": 0.0},
            {"income": 4000.0, "debts": None, "years_employed": 3},
        ]
    },
)
