"""`rights-relay import-card`: register or update a model and its parents from a Hugging Face
model card (the command itself is declared in app/cli.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.config import Settings


def run_import(settings: Settings, path: Path, org_slug: str, model_id: str,
               title: str | None) -> tuple[int, list[str]]:
    """Exit code and lines to print: 0 imported, 1 refused by the registry, 2 a bad card.
    Nothing is written unless everything succeeds (one transaction)."""
    import app.all_models  # noqa: F401  (every table known)
    from app.auth import service as auth
    from app.db import make_engine, make_sessionmaker
    from app.errors import DomainError
    from app.lineage.cards import CardError, import_card, read
    from app.models_registry.schemas import ModelCreate

    try:
        card = read(path)
        ModelCreate(id=model_id, title=title or model_id)  # the id's own rules
    except CardError as exc:
        return 2, [f"error: {exc.detail}"]
    except ValueError as exc:  # pydantic's ValidationError
        return 2, [f"error: --id: {str(exc).splitlines()[-1].strip()}"]

    async def go() -> list[str]:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with make_sessionmaker(engine)() as session:
                org = await auth.get_org_by_slug(session, org_slug)
                done = await import_card(session, org.id, card, model_id, title)
                await session.commit()
        finally:
            await engine.dispose()
        lines = [f"{'registered' if done.created else 'updated'} {done.model}"
                 f" (licence {done.licence or 'not stated'})"]
        for ref in done.parents:
            note = " (registered as a placeholder, intake closed)" \
                if ref in done.placeholders else ""
            lines.append(f"  derived from {ref}{note}"
                         + (f", {card.relation}" if card.relation else ""))
        return lines

    try:
        return 0, asyncio.run(go())
    except DomainError as exc:
        return 1, [f"error: {exc.detail}"]
