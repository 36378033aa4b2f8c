"""Client packages generated from a version's `.proto`: Python, TypeScript and Java.

Each package holds the message classes (protoc's for Python and Java; for TypeScript the
`@bufbuild/protobuf` v2 schema that protoc-gen-es would write, rendered here from the descriptor)
and a small typed client per method over HTTP with protobuf and with JSON, plus a README.
Nothing from the upload runs: protoc only parses the text (docs/clients.md).
"""

from modelbay_gateway.clients.errors import ProtoCompilerMissing, ProtoDoesNotCompile
from modelbay_gateway.clients.languages import ClientLanguage
from modelbay_gateway.clients.package import GeneratedClient, generate_client
from modelbay_gateway.clients.snippets import client_snippet

__all__ = [
    "ClientLanguage",
    "GeneratedClient",
    "ProtoCompilerMissing",
    "ProtoDoesNotCompile",
    "client_snippet",
    "generate_client",
]
