"""`rights-relay audit ...`: check the hash-chained audit trail from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

audit_cli = typer.Typer(no_args_is_help=True, help="The hash-chained audit trail.")


@audit_cli.command("verify")
def verify(
    org: Annotated[str | None, typer.Option(
        help="organisation slug; every organisation when omitted")] = None,
) -> None:
    """Walk each organisation's chain and report any modified, deleted or reordered row.

    Exits 0 when every chain is intact, 1 when one is broken or the organisation is unknown."""
    from sqlalchemy import select

    import app.all_models  # noqa: F401  (every table known: column types resolve fully)
    from app.audit.service import chain_length, verify_chain
    from app.auth.models import Organization
    from app.cli_support import load_cli_settings, run_in_session

    async def go(session: Any) -> list[tuple[str, int, list[str]]] | None:
        query = select(Organization).order_by(Organization.slug)
        orgs = list(await session.scalars(query.where(Organization.slug == org) if org
                                          else query))
        if org and not orgs:
            return None
        return [(o.slug, await chain_length(session, o.id),
                 [f"row {p.seq}: {p.problem}" for p in await verify_chain(session, o.id)])
                for o in orgs]

    results = run_in_session(load_cli_settings(), go)
    if results is None:
        typer.echo(f"error: organisation {org!r} not found", err=True)
        raise typer.Exit(1)
    broken = False
    for slug, rows, problems in results:
        if problems:
            broken = True
            typer.echo(f"{slug}: audit trail BROKEN ({rows} rows)", err=True)
            for problem in problems:
                typer.echo(f"  {problem}", err=True)
        else:
            typer.echo(f"{slug}: {rows} rows, chain intact")
    if broken:
        typer.echo("error: the audit trail was tampered with or damaged", err=True)
        raise typer.Exit(1)


@audit_cli.command("verify-export")
def verify_export(
    file: Annotated[Path, typer.Argument(help="a case export (`GET /v1/cases/{ref}/export`)")],
) -> None:
    """Check a case export offline, with no database: every row's hash, the links up to the
    chain's head, the timeline against the hashed rows, and the head's Ed25519 signature.

    Exits 0 when the export proves itself, 1 when it was altered, 2 when it cannot be read.
    The same check, with Python alone: tools/verify_export.py."""
    from app.audit.verify_export import main

    raise typer.Exit(main(["verify-export", str(file)]))
