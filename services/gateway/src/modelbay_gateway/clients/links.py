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


def client_links(detail: VersionDetail, base_path: str) -> dict[str, ClientPackageLink]:
    """One entry per language, keyed by its name (`python`, `typescript`, `java`)."""
    target = Target(detail.owner, detail.name, detail.version)
    methods = detail.interface.methods
    first = methods[0] if methods else None
    method = first.name if first else None
    # The message's name inside the generated module: the SDK's messages are top-level.
    input_type = first.input_message.rsplit(".", 1)[-1] if first and first.input_message else None
    return {
        language.value: ClientPackageLink(
            url=f"{base_path}/clients/{language}",
            snippet=client_snippet(target, language, method, input_type),
        )
        for language in ClientLanguage
    }
