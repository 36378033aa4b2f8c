"""What a version's page and API show of its client packages: where to download each and the
snippet to install it and call the model's first method."""

from __future__ import annotations

from modelbay_common.contracts.catalog import VersionDetail
from pydantic import BaseModel, Field

from modelbay_gateway.clients.languages import ClientLanguage
from modelbay_gateway.clients.snippets import client_snippet
from modelbay_gateway.clients.target import Target


class ClientPackageLink(BaseModel):
    url: str = Field(description="GET it for the generated package (tar.gz)")
    snippet: str = Field(description="shell lines to install it, then code calling the model")


def client_links_for(
    owner: str, name: str, version: int, base_path: str, method: str | None, input_message: str
) -> dict[str, ClientPackageLink]:
    """One entry per language, keyed by its name (`python`, `typescript`, `java`); the snippet
    calls `method` (the model's first) with its input message."""
    target = Target(owner, name, version)
    # The message's name inside the generated module: the SDK's messages are top-level.
    input_type = input_message.rsplit(".", 1)[-1] or None
    return {
        language.value: ClientPackageLink(
            url=f"{base_path}/clients/{language}",
            snippet=client_snippet(target, language, method, input_type),
        )
        for language in ClientLanguage
    }


def client_links(detail: VersionDetail, base_path: str) -> dict[str, ClientPackageLink]:
    first = detail.interface.methods[0] if detail.interface.methods else None
    return client_links_for(
        detail.owner,
        detail.name,
        detail.version,
        base_path,
        first.name if first else None,
        first.input_message if first else "",
    )
