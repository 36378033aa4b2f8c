"""The bases of every event payload: about a model version (`Event`) or not (`EventPayload`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class EventPayload(BaseModel):
    """Base of every event payload: a model's (`Event`) or an organisation's (`OrgEvent`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str]

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: what the event is about."""
        raise NotImplementedError


class Event(EventPayload):
    """Base of the payloads about a model: which model version the event is about."""

    owner: str = Field(min_length=1)
    name: str = Field(min_length=1)
    version: int = Field(ge=1)

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: `owner/name/version`."""
        return f"{self.owner}/{self.name}/{self.version}"
