"""Filings and confirmations from the public (the JSON API, the form and its confirmation page),
group-committed (app/batching.py): what arrives while a batch is being written goes into the
next one, one transaction for all of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.batching import Batcher
from app.config import Settings
from app.crypto import Keyring
from app.db import write_turn
from app.errors import DomainError
from app.ratelimit import service as ratelimit
from app.requests import confirming, filing
from app.requests.schemas import RequestCreate


class Intake:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring,
                 settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._engine: AsyncEngine = sessionmaker.kw["bind"]
        self._keyring = keyring
        self._settings = settings
        self._filings = Batcher(self._file)
        self._confirmations = Batcher(self._confirm)

    async def file(self, body: RequestCreate) -> filing.Submitted:
        return await self._filings.run(body)

    async def confirm(self, token: str) -> list[confirming.ConfirmedCase]:
        return await self._confirmations.run(token)

    async def _file(self, bodies: Sequence[RequestCreate]
                    ) -> list[filing.Submitted | DomainError]:
        async with write_turn(self._engine), self._sessionmaker() as session:
            # Attempts per email address, counted in the batch's transaction: one stage less
            # for every filing to wait through. A refused filing's attempt commits with the
            # batch like the others'.
            refusals = await ratelimit.count_all(
                session, self._keyring, scope="submit-email", values=[str(b.email) for b in bodies],
                limit=self._settings.rate_limit_email_per_day, window=timedelta(days=1))
            filed = iter(await filing.submit_many(
                session, self._keyring, self._settings,
                [b for b, refused in zip(bodies, refusals, strict=True) if refused is None]))
            outcomes = [refused or next(filed) for refused in refusals]
            await session.commit()
        return outcomes

    async def _confirm(self, tokens: Sequence[str]
                       ) -> list[list[confirming.ConfirmedCase] | DomainError]:
        async with write_turn(self._engine), self._sessionmaker() as session:
            outcomes = await confirming.confirm_many(session, self._keyring, self._settings,
                                                     tokens)
            await confirming.write(session)
            await session.commit()
        return outcomes
