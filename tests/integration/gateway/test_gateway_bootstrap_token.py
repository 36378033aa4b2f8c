"""The bootstrap administrator's token follows the configuration at every start (issue 11,
defect 8): one revoked through the API came back only if ADMIN_TOKEN changed, though the docs
say "created or updated at start-up". Real Postgres, the gateway's own migrations."""

from __future__ import annotations

import pytest
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.migrations import upgrade
from modelbay_gateway.errors import InvalidToken
from modelbay_gateway.service import authenticate, ensure_bootstrap_admin, revoke_token
from modelbay_gateway.store import UserStore

SECRET = "mb_bootstrap-secret-of-the-test-0123456789"
ROTATED = "mb_rotated-secret-of-the-test-9876543210"


async def test_a_revoked_bootstrap_token_is_restored_by_a_restart_with_the_same_token(
    fresh_database_url: str,
) -> None:
    await upgrade("gateway", fresh_database_url)
    engine = create_engine(fresh_database_url)
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            await ensure_bootstrap_admin(UserStore(session), "root", SECRET)
        async with transaction(sessions) as session:
            principal = await authenticate(UserStore(session), SECRET)
            await revoke_token(UserStore(session), principal, str(principal.token_id))
        async with transaction(sessions) as session:
            with pytest.raises(InvalidToken):
                await authenticate(UserStore(session), SECRET)

        async with transaction(sessions) as session:  # the restart, same configuration
            await ensure_bootstrap_admin(UserStore(session), "root", SECRET)
        async with transaction(sessions) as session:
            restored = await authenticate(UserStore(session), SECRET)
        assert restored.user.username == "root"
        assert restored.user.is_admin

        async with transaction(sessions) as session:  # rotating still retires the old one
            await ensure_bootstrap_admin(UserStore(session), "root", ROTATED)
        async with transaction(sessions) as session:
            await authenticate(UserStore(session), ROTATED)
            with pytest.raises(InvalidToken):
                await authenticate(UserStore(session), SECRET)
    finally:
        await engine.dispose()
