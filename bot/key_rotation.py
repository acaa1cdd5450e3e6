"""`python -m bot rotate-keys`: re-encrypt every stored secret with the first ENCRYPTION_KEY."""

from __future__ import annotations

from sqlalchemy import select

from bot.crypto import TokenCipher
from storage.db import create_engine, create_sessionmaker, migrate
from storage.models import OAuthStateRow, ZoomConnectionRow


async def rotate_keys(database_url: str, cipher: TokenCipher) -> int:
    """Re-encrypt tokens and PKCE verifiers; returns how many values were rewritten."""
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    count = 0
    async with sessions.begin() as session:
        for connection in await session.scalars(select(ZoomConnectionRow)):
            if connection.access_token_enc:
                connection.access_token_enc = cipher.rotate(connection.access_token_enc)
                count += 1
            if connection.refresh_token_enc:
                connection.refresh_token_enc = cipher.rotate(connection.refresh_token_enc)
                count += 1
        for state in await session.scalars(select(OAuthStateRow)):
            state.code_verifier_enc = cipher.rotate(state.code_verifier_enc)
            count += 1
    await engine.dispose()
    return count
