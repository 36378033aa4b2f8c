"""The builder's public hook for "a model is now served": `BuilderService.on_served(listener)`.

Only the local-process mode serves models itself (a child process per version, started after
validation or again after a restart); with Docker the image is the product and whoever runs it
serves it, so no announcement is made. The embedded mode subscribes to print each local model's
URL; it needs nothing else from the builder's internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """One version the builder now serves, and where it answers."""

    owner: str
    name: str
    version: int
    url: str

    @property
    def subject(self) -> str:
        return f"{self.owner}/{self.name}/{self.version}"


ServedListener = Callable[[ServedModel], object]


class ServedModels:
    """The listeners told of every model that starts being served (built or restored)."""

    def __init__(self) -> None:
        self._listeners: list[ServedListener] = []

    def subscribe(self, listener: ServedListener) -> None:
        self._listeners.append(listener)

    def announce(self, model: ServedModel) -> None:
        # One failing listener must not keep the others (or the serving itself) from going on.
        for listener in self._listeners:
            try:
                listener(model)
            except Exception:
                log.exception("a served-model listener failed for %s", model.subject)


@runtime_checkable
class ServesModels(Protocol):
    """A runner that serves the models it builds (the local-process runner)."""

    served: ServedModels
