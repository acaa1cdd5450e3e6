"""`python -m bot rotate-keys`: re-encrypt every stored secret with the first ENCRYPTION_KEY."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crypto import TokenCipher
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import OAuthStateRow, ZoomConnectionRow


async def rotate_keys(database_url: str, cipher: TokenCipher) -> int:
    """Re-encrypt tokens and PKCE verifiers; returns how many values were rewritten."""
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    count = 0
    async with sessions() as session:
        ids = list(await session.scalars(select(ZoomConnectionRow.id)))
    for connection_id in ids:
        count += await _rotate_connection(sessions, cipher, connection_id)
    async with sessions.begin() as session:
        for state in await session.scalars(select(OAuthStateRow)):
            state.code_verifier_enc = cipher.rotate(state.code_verifier_enc)
            count += 1
    await engine.dispose()
    return count


async def _rotate_connection(
    sessions: async_sessionmaker[AsyncSession], cipher: TokenCipher, connection_id: int
) -> int:
    """Re-encrypt one connection's tokens, compare-and-swap on the ciphertexts read: when the running bot
    refreshed them meanwhile (its new ones are already under the current key), read them again."""
    for _ in range(5):
        async with sessions.begin() as session:
            row = await session.get(ZoomConnectionRow, connection_id)
            if row is None:
                return 0
            access, refresh = row.access_token_enc, row.refresh_token_enc
            values = {
                "access_token_enc": cipher.rotate(access) if access else access,
                "refresh_token_enc": cipher.rotate(refresh) if refresh else refresh,
            }
            unchanged = (
                (ZoomConnectionRow.id == connection_id)
                & (
                    ZoomConnectionRow.access_token_enc.is_(None)
                    if access is None
                    else ZoomConnectionRow.access_token_enc == access
                )
                & (
                    ZoomConnectionRow.refresh_token_enc.is_(None)
                    if refresh is None
                    else ZoomConnectionRow.refresh_token_enc == refresh
                )
            )
            result = await session.execute(
                update(ZoomConnectionRow)
                .where(unchanged)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return bool(access) + bool(refresh)
    raise RuntimeError(f"the tokens of Zoom connection {connection_id} kept changing; run rotate-keys again")
