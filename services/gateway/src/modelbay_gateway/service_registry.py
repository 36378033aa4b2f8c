"""Use case of the registry's token endpoint: which of the requested scopes a caller gets.

The registry (`auth: token`) trusts whatever a token signed with the platform's key grants, so
this is where the access rule reaches the images. Grants, per the token specification's "give
what you may, silently drop the rest":

- `pull` on `repository:<owner>/<name>` when the catalog, asked *as the caller*, shows the
  model (the same rule as every read of the API: owner, administrators, `public`, the owner's
  organisation for `org`); a model the caller may not see is dropped exactly like a missing one;
- `pull` and `push` on the signed-in user's own staging space, `staging/<username>/...`,
  where pre-built images are pushed before `modelbay push --image REFERENCE`
  (`modelbay_common.image_reference`, docs/prebuilt-images.md); nobody else's;
- never `push` on a model's repository nor `delete` anywhere (the builder mints its own push
  tokens; deletes belong to the platform's garbage collection), never `registry:catalog:*`
  (listing every repository would list private model names).
"""

from __future__ import annotations

from collections.abc import Sequence

from modelbay_common.image_reference import staging_owner
from modelbay_common.registry_auth import PULL, PUSH, REPOSITORY, Access, repository_access

from modelbay_gateway.upstream import CATALOG, Caller, Upstreams, model_path, raise_for_upstream

NOT_FOUND = 404


async def _may_see(upstreams: Upstreams, caller: Caller, repository: str) -> bool:
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name:
        return False  # every model image is <owner>/<name>; nothing else is ours to grant
    # The model read of the API, as the caller: its answer is the rule; the body is not needed.
    path = f"/internal/models/{model_path(owner, name)}"
    response = await upstreams.request(CATALOG, "GET", path, caller)
    if response.status_code == NOT_FOUND:
        return False
    raise_for_upstream(response, CATALOG)  # another 4xx is relayed, a 5xx is a 502
    return True


async def grant_registry_access(
    upstreams: Upstreams, caller: Caller, requested: Sequence[Access]
) -> list[Access]:
    """The subset of `requested` the caller gets: pull on models they may see, pull and push
    in their own staging space, nothing else."""
    granted: dict[str, Access] = {}
    for access in requested:
        if access.type != REPOSITORY or access.name in granted:
            continue
        staged_by = staging_owner(access.name)
        if staged_by is not None:
            if caller.user is not None and staged_by == caller.user:
                wanted = [a for a in (PULL, PUSH) if a in access.actions or "*" in access.actions]
                if wanted:
                    granted[access.name] = repository_access(access.name, *wanted)
            continue
        if PULL not in access.actions and "*" not in access.actions:
            continue
        if await _may_see(upstreams, caller, access.name):
            granted[access.name] = repository_access(access.name, PULL)
    return list(granted.values())
