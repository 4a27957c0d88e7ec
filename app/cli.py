"""The `rights-relay` command."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli_support import load_cli_settings, run_in_session

cli = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Rights Relay: GDPR requests against AI models, propagated downstream.")


_settings, _run_in_session = load_cli_settings, run_in_session


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


@cli.command()
def migrate() -> None:
    """Apply database migrations up to the latest."""
    from app import migrate as m

    settings = _settings()
    m.upgrade(settings)
    typer.echo(f"database at {m.head_revision(settings)}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Migrate, seed the demo on first run, and serve the API and pages."""
    import uvicorn

    from app import migrate as m
    from app.main import create_served_app
    from app.seed import seed_demo

    settings = _settings()
    if host:
        settings = settings.model_copy(update={"host": host})
    if port:
        settings = settings.model_copy(update={"port": port})
    if "public_base_url" not in settings.model_fields_set:
        # Emailed links must point where this server really listens.
        settings = settings.model_copy(
            update={"public_base_url": f"http://{settings.host}:{settings.port}"})
    m.upgrade(settings)
    creds_file = settings.data_dir / "demo-credentials.json"
    if settings.seed_demo:
        creds = _run_in_session(settings, seed_demo)
        if creds is not None:
            _write_private(creds_file, json.dumps(creds.__dict__, indent=2))
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"\nRights Relay is starting at {url}  (database: {settings.sync_url})")
    if creds_file.exists():
        creds = json.loads(creds_file.read_text())
        typer.echo(f"  demo sign-in:  {url}/signin  email {creds['email']}  "
                   f"password {creds['password']}")
        typer.echo(f"  demo API key:  {creds['api_key']}")
        typer.echo(f"  (saved in {creds_file})")
    typer.echo(f"  API docs:      {url}/docs\n")
    app = create_served_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(),
                # X-Forwarded-For is read by the app, from RR_TRUSTED_PROXIES only.
                proxy_headers=False)


@cli.command("create-org")
def create_org(
    name: Annotated[str, typer.Option(help="display name")],
    slug: Annotated[str, typer.Option(help="short id: lower-case letters, digits, dashes")],
    admin_email: Annotated[str, typer.Option(help="email of the first admin user")],
    admin_password: Annotated[str | None, typer.Option(
        help="password (at least 10 characters); generated if omitted")] = None,
) -> None:
    """Create an organisation with its first admin user."""
    import secrets

    from pydantic import ValidationError

    from app.auth import service
    from app.auth.models import Role
    from app.auth.schemas import OrganizationCreate, UserCreate
    from app.errors import DomainError

    password = admin_password or secrets.token_urlsafe(12)
    problems = []
    for schema, values in ((OrganizationCreate, {"name": name, "slug": slug}),
                           (UserCreate, {"email": admin_email, "name": admin_email,
                                         "password": password})):
        try:
            schema.model_validate(values)
        except ValidationError as exc:
            problems += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    if problems:
        for problem in problems:
            label = problem.replace("email:", "admin-email:", 1)
            typer.echo(f"error: {label}", err=True)
        raise typer.Exit(2)

    async def go(session: Any) -> None:
        org = await service.create_org(session, name=name, slug=slug)
        await service.create_user(session, org_id=org.id, email=admin_email, name=admin_email,
                                  role=Role.admin, password=password)

    try:
        _run_in_session(_settings(), go)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"organisation {slug} created; admin {admin_email}")
    if admin_password is None:
        typer.echo(f"password: {password}")


@cli.command("create-api-key")
def create_api_key(
    org: Annotated[str, typer.Option(help="organisation slug")],
    name: Annotated[str, typer.Option(help="what the key is for")],
    role: Annotated[str, typer.Option(help="admin, reviewer or pipeline")] = "admin",
) -> None:
    """Create an API key and print it (it is shown only once)."""
    from app.auth import service
    from app.auth.models import Role
    from app.errors import DomainError

    if role not in {r.value for r in Role}:
        typer.echo("error: role must be admin, reviewer or pipeline", err=True)
        raise typer.Exit(2)

    async def go(session: Any) -> str:
        organisation = await service.get_org_by_slug(session, org)
        _, key = await service.create_api_key(session, org_id=organisation.id, name=name,
                                              role=Role(role))
        return key

    try:
        key = _run_in_session(_settings(), go)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(key)


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="where to write the spec")] = Path(
        "openapi/openapi.json"),
) -> None:
    """Write the OpenAPI spec generated from the app."""
    from app.spec import openapi_json

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(openapi_json())
    typer.echo(f"wrote {output}")


@cli.command()
def worker(
    jobs: Annotated[bool, typer.Option(help="also run the periodic jobs (emails, reminders)")]
    = True,
) -> None:
    """Deliver webhooks from the outbox (run several: they share the work). Stop with Ctrl-C."""
    import signal

    from app.crypto import Keyring
    from app.db import make_engine, make_sessionmaker
    from app.delivery.worker import DeliveryWorker
    from app.jobs.registry import background_jobs
    from app.jobs.scheduler import Jobs
    from app.ops.runtime import tune_gc

    settings = _settings()

    async def go() -> None:
        engine = make_engine(settings.sqlalchemy_url)
        sessionmaker = make_sessionmaker(engine)
        keyring = Keyring.from_settings(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler = Jobs(background_jobs(sessionmaker, settings, keyring)) \
            if jobs else None
        if scheduler is not None:
            scheduler.start()
        tune_gc()
        try:
            # The sending process needs POSIX (file descriptors passed to a child).
            split = settings.webhook_sending_process and os.name == "posix"
            await DeliveryWorker(sessionmaker, settings, keyring, sending_process=split).run(
                stop, started=lambda: typer.echo(
                    f"delivery worker started (database: {settings.sync_url})"))
        finally:
            if scheduler is not None:
                await scheduler.stop()  # the runs under way end before the database goes
            await engine.dispose()
        typer.echo("delivery worker stopped")

    try:  # uvloop, where available, makes sending webhooks markedly cheaper
        import uvloop
    except ImportError:  # pragma: no cover (Windows)
        asyncio.run(go())
    else:
        uvloop.run(go())


@cli.command("webhook-schemas")
def webhook_schemas(
    output: Annotated[Path, typer.Option(help="folder to write into")] = Path("webhooks/schemas"),
) -> None:
    """Write the JSON Schema of every webhook event type (from the app's payload models)."""
    from app.delivery.wire import write_schemas

    for path in write_schemas(output):
        typer.echo(f"wrote {path}")
@cli.command("import-card")
def import_card(
    path: Annotated[Path, typer.Argument(help="a model card (README.md) or a model folder")],
    org: Annotated[str, typer.Option(help="slug of the organisation registering the model")],
    model_id: Annotated[str, typer.Option("--id", help="the model's id, namespace/name")],
    title: Annotated[str | None, typer.Option(help="title (default: the id)")] = None,
) -> None:
    """Register or update a model and its parents from a Hugging Face model card's front
    matter (base_model: one or a list, license, base_model_relation). Exit 2 on a bad card,
    1 when the registry refuses (a cycle, another organisation's model); nothing is written
    then."""
    from app.lineage.cli import run_import

    code, lines = run_import(_settings(), path, org, model_id, title)
    for line in lines:
        typer.echo(line, err=code != 0)
    raise typer.Exit(code)


def _add_sub_commands() -> None:
    from app.audit.cli import audit_cli
    from app.keys.cli import keys_cli, namespaces_cli

    cli.add_typer(audit_cli, name="audit")
    cli.add_typer(keys_cli, name="keys")
    cli.add_typer(namespaces_cli, name="namespaces")


_add_sub_commands()


def main() -> None:
    cli()
