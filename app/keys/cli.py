"""`rights-relay keys ...` (key rotation) and `rights-relay namespaces assign` (a service
administrator gives a namespace to an organisation)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")
keys_cli = typer.Typer(no_args_is_help=True, help="Key-encryption keys: list, rotate, retire.")
namespaces_cli = typer.Typer(no_args_is_help=True, help="Who owns which model namespace.")


def _run(fn: Callable[[Any, Any, Any], Awaitable[T]]) -> T:
    """`fn(sessionmaker, settings, keyring)` against the configured database."""
    import app.all_models  # noqa: F401  (every table known)
    from app.config import load_settings
    from app.crypto import Keyring
    from app.db import make_engine, make_sessionmaker

    try:
        settings = load_settings()
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def go() -> T:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            return await fn(make_sessionmaker(engine), settings, Keyring.from_settings(settings))
        finally:
            await engine.dispose()

    return asyncio.run(go())


@keys_cli.command("list")
def list_keys() -> None:
    """Each key-encryption key this installation knows, and how many records it wraps."""
    from app.keys.service import usage

    async def go(sessionmaker: Any, settings: Any, keyring: Any) -> None:
        used = await usage(sessionmaker)
        for kid in sorted(set(keyring.key_ids()) | set(used)):
            mark = " (current)" if kid == keyring.current else ""
            if kid not in keyring.key_ids():
                mark = " (UNKNOWN: records under it cannot be read)"
            typer.echo(f"{kid}{mark}: {used.get(kid, 0)} records")

    _run(go)


@keys_cli.command("rotate")
def rotate() -> None:
    """Add a key-encryption key and re-wrap every data key under it (no downtime: replicas
    pick the new key up from the database)."""
    from app.keys.service import rotate as do_rotate

    async def go(sessionmaker: Any, settings: Any, keyring: Any) -> None:
        kid, counts = await do_rotate(sessionmaker, settings, keyring)
        typer.echo(f"new key-encryption key {kid}; re-wrapped "
                   + ", ".join(f"{name}: {n}" for name, n in counts.items()))

    _run(go)


@keys_cli.command("retire")
def retire(kid: Annotated[str, typer.Argument(help="the key id, as `keys list` shows it")]) -> None:
    """Drop an old key-encryption key once nothing uses it (re-wrapping stragglers first)."""
    from app.errors import DomainError
    from app.keys.service import retire as do_retire

    async def go(sessionmaker: Any, settings: Any, keyring: Any) -> None:
        await do_retire(sessionmaker, keyring, kid)

    try:
        _run(go)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"key {kid} retired")


@namespaces_cli.command("assign")
def assign(
    namespace: Annotated[str, typer.Option(help="the namespace, e.g. `acme`")],
    org: Annotated[str, typer.Option(help="the organisation's slug")],
) -> None:
    """Give a namespace to an organisation: only it registers models there from now on."""
    from app.auth.service import get_org_by_slug
    from app.errors import DomainError
    from app.models_registry.service import assign_namespace

    async def go(sessionmaker: Any, settings: Any, keyring: Any) -> None:
        async with sessionmaker() as session:
            organisation = await get_org_by_slug(session, org)
            await assign_namespace(session, namespace, organisation.id)
            await session.commit()

    try:
        _run(go)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"namespace {namespace} now belongs to {org}")
