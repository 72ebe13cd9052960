"""Console sessions: a random token in an HttpOnly cookie, only its hash in the store."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.ops import audit
from hub.store.tables import console_sessions
from hub.store.types import utcnow

COOKIE = "hub_console"
LIFETIME = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in, and the token their forms must carry back (CSRF)."""

    client: str
    csrf: str
    person: str | None = None
    """The operator who logged in, by the name they gave: their acts are audited under it."""

    @property
    def actor(self) -> audit.Actor:
        """Who acts through this session, for the audit trail."""
        return audit.Actor(self.client, self.person)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(
    engine: AsyncEngine, client: str, person: str | None = None
) -> tuple[str, Session]:
    """A new session for a client and the person using it: (the cookie's token, the session)."""
    token = secrets.token_urlsafe(32)
    session = Session(client, secrets.token_urlsafe(24), person)
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
        await conn.execute(
            console_sessions.insert().values(
                token_sha256=_hash(token),
                client=client,
                person=person,
                csrf=session.csrf,
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
    return token, session


async def find_session(engine: AsyncEngine, token: str | None) -> Session | None:
    """The live session a cookie's token belongs to, if any."""
    if not token:
        return None
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(console_sessions).where(
                        console_sessions.c.token_sha256 == _hash(token),
                        console_sessions.c.expires_at > utcnow(),
                    )
                )
            )
            .mappings()
            .first()
        )
    return Session(row["client"], row["csrf"], row["person"]) if row else None


async def close_session(engine: AsyncEngine, token: str) -> None:
    """End a session (logout): the cookie's token is worthless from now on."""
    async with engine.begin() as conn:
        await conn.execute(
            delete(console_sessions).where(console_sessions.c.token_sha256 == _hash(token))
        )
