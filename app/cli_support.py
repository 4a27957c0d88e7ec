"""What every `rights-relay` command shares (settings, a database session), below the commands
themselves so that sub-command modules (app/audit/cli.py...) never import the top-level CLI."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from app.config import Settings, load_settings


def load_cli_settings() -> Settings:
    try:
        return load_settings()
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def run_in_session(settings: Settings, fn: Any) -> Any:
    from app.db import make_engine, make_sessionmaker

    async def go() -> Any:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await fn(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())
