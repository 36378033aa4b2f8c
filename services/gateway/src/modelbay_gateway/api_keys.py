"""`GET /v1/keys`: the public keys that verify the platform's image signatures and provenance.

Anyone may read them (they are public keys; a peer instance or `modelbay pull` needs them before
it trusts anything). They are read from `SIGNING_KEY_DIR/public/*.pem` on each request, so a
rotation (docs/trust.md) shows up without restarting the gateway. During a rotation several keys
are listed: the new one signs, the old ones still verify what they signed.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated dependencies.
import asyncio

from fastapi import APIRouter, Response
from modelbay_common.signing import TrustedKey
from pydantic import BaseModel, Field

from modelbay_gateway.context import ContextDep

router = APIRouter(prefix="/v1", tags=["trust"])


class PublicKeyOut(BaseModel):
    key_id: str = Field(
        description="`sha256:` + hex SHA-256 of the key's DER SubjectPublicKeyInfo (recompute it "
        "from `pem` to check it)."
    )
    algorithm: str = Field(description="Always `ecdsa-p256-sha256` (ASN.1 DER signatures).")
    pem: str = Field(description="The public key, PEM SubjectPublicKeyInfo.")


class KeysOut(BaseModel):
    keys: list[PublicKeyOut] = Field(
        description="Every key that verifies platform signatures; empty when the platform does "
        "not sign (then `modelbay pull` refuses unless told --insecure-skip-verify)."
    )
    signature_layout: str = Field(
        description="Where image signatures are: `cosign-tag` (`<repo>:sha256-<hex>.sig`, "
        "simple-signing payloads with the `dev.cosignproject.cosign/signature` annotation)."
    )
    provenance: str = Field(
        description="How provenance is signed: `dsse` envelopes of in-toto v1 statements, "
        "downloadable at /v1/models/{owner}/{name}/versions/{version}/provenance."
    )


def _out(key: TrustedKey) -> PublicKeyOut:
    return PublicKeyOut(key_id=key.key_id, algorithm="ecdsa-p256-sha256", pem=key.pem)


@router.get(
    "/keys",
    summary="The platform's public signing keys",
    response_model=KeysOut,
)
async def list_signing_keys(context: ContextDep, response: Response) -> KeysOut:
    keys = await asyncio.to_thread(context.settings.trusted_keys)
    # Short: a rotation should reach verifiers within minutes.
    response.headers["Cache-Control"] = "public, max-age=300"
    return KeysOut(
        keys=[_out(key) for key in keys], signature_layout="cosign-tag", provenance="dsse"
    )
