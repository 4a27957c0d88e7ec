"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.access.router import me as access_me_router
from app.access.router import provider as access_provider_router
from app.access.router import public as access_public_router
from app.acks.pages import router as ack_pages
from app.acks.router import public as acks_public_router
from app.acks.router import router as acks_router
from app.audit.router import router as audit_checkpoints_router
from app.auth.router import router as auth_router
from app.cases.pages import router as case_pages
from app.cases.router import router as cases_router
from app.config import Settings, load_settings
from app.copies.router import router as copies_router
from app.crypto import Keyring
from app.db import make_engine, make_sessionmaker
from app.delivery.router import router as deliveries_router
from app.delivery.router import well_known as webhook_keys_router
from app.delivery.runner import start_worker
from app.delivery.signing import ServiceKeys
from app.delivery.ssrf import SystemResolver
from app.delivery.worker import DeliveryWorker
from app.errors import ErrorRead, install_error_handlers
from app.feeds.router import router as feeds_router
from app.i18n import LanguageMiddleware
from app.jobs.registry import background_jobs
from app.jobs.scheduler import Jobs
from app.licensing.router import me as clauses_me_router
from app.licensing.router import provider as clauses_provider_router
from app.licensing.router import public as clauses_public_router
from app.lineage.router import me as derivatives_router
from app.migrate import head_revision
from app.models_registry.pages import router as model_pages
from app.models_registry.router import public_router as public_models_router
from app.models_registry.router import router as models_router
from app.ops import logs
from app.ops.headers import SecurityHeadersMiddleware
from app.ops.limits import BodySizeLimitMiddleware
from app.ops.metrics import MetricsMiddleware
from app.ops.proxies import (
    TrustedHostMiddleware,
    TrustedProxyMiddleware,
    allowed_hosts,
    parse_networks,
)
from app.ops.query import reject_unknown_query_params
from app.ops.router import router as ops_router
from app.privacy.pages import router as privacy_pages
from app.privacy.router import router as privacy_router
from app.probes.pages import router as probe_pages
from app.probes.router import endpoints as probe_endpoints_router
from app.probes.router import router as probes_router
from app.remediation.pages import router as remediation_pages
from app.remediation.router import router as remediations_router
from app.requests.intake import Intake
from app.requests.pages import router as request_pages
from app.requests.router import router as requests_router
from app.subscribers.pages import router as subscriber_pages
from app.subscribers.propagation import dashboard as propagation_pages
from app.subscribers.router import me as subscriber_router
from app.subscribers.router import provider as model_subscribers_router
from app.subscribers.router import public as subscribers_public_router
from app.web.docs import mount_assets as mount_docs_assets
from app.web.docs import router as docs_router
from app.web.errors import install_html_errors
from app.web.router import router as web_router
from app.web.security import router as security_pages

STATIC_DIR = Path(__file__).parent / "web" / "static"


def operation_id(route: APIRoute) -> str:
    """Stable, readable operation ids: `<tag>:<route name>`, e.g. `models:create_model`."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}:{route.name}"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level)
    # APScheduler logs every run of every job at INFO: keep its warnings (skipped runs) only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logs.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.sqlalchemy_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.intake = Intake(app.state.sessionmaker, keyring, settings)
        scheduler = None
        if settings.run_jobs:
            scheduler = Jobs(background_jobs(app.state.sessionmaker, settings, keyring))
            scheduler.start()
        worker = None
        if settings.run_delivery_worker:
            worker = start_worker(DeliveryWorker(
                app.state.sessionmaker, settings, keyring, resolver=app.state.webhook_resolver,
                keys=app.state.webhook_keys))
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            if scheduler is not None:
                await scheduler.stop()  # the runs under way end before the database goes
            await engine.dispose()

    app = FastAPI(
        title="Rights Relay",
        version=__version__,
        summary="GDPR objection and erasure requests against published AI models, "
                "worked by the provider and propagated to every re-user.",
        lifespan=lifespan,
        # Our own /docs and /redoc (app/web/docs.py): no inline script, so a strict CSP holds.
        docs_url=None, redoc_url=None,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(reject_unknown_query_params)],
        responses={
            400: {"model": ErrorRead, "description": "Bad request"},
            413: {"model": ErrorRead, "description": "Request body too large"},
            422: {"model": ErrorRead, "description": "Validation error (fields named)"},
        },
    )
    keyring = Keyring.from_settings(settings)
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.migration_head = head_revision(settings)
    # Tests replace the resolver before the app starts, to script DNS answers (SSRF checks).
    app.state.webhook_resolver = SystemResolver()
    app.state.webhook_keys = ServiceKeys.from_settings(settings)

    install_error_handlers(app)
    install_html_errors(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(TrustedProxyMiddleware, trusted=parse_networks(settings.trusted_proxies))
    app.add_middleware(TrustedHostMiddleware,
                       hosts=allowed_hosts(settings.public_base_url, settings.allowed_hosts))
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(LanguageMiddleware)

    app.include_router(ops_router)
    # The public intake first: routes are matched one by one (a few microseconds each, over
    # two hundred routes), and these are the ones a public form sends bursts to.
    app.include_router(requests_router)
    app.include_router(auth_router, responses={401: {"model": ErrorRead},
                                               403: {"model": ErrorRead}})
    app.include_router(models_router, responses={401: {"model": ErrorRead},
                                                 403: {"model": ErrorRead},
                                                 404: {"model": ErrorRead},
                                                 409: {"model": ErrorRead}})
    app.include_router(public_models_router)
    app.include_router(model_subscribers_router)
    app.include_router(deliveries_router)
    app.include_router(acks_router)
    app.include_router(subscribers_public_router)
    app.include_router(subscriber_router)
    app.include_router(acks_public_router)
    app.include_router(feeds_router)
    app.include_router(audit_checkpoints_router)
    app.include_router(privacy_router)
    app.include_router(webhook_keys_router)
    app.include_router(cases_router)
    app.include_router(remediations_router)
    app.include_router(probe_endpoints_router)
    app.include_router(probes_router)
    app.include_router(web_router)
    app.include_router(docs_router)
    app.include_router(security_pages)
    app.include_router(request_pages)
    app.include_router(subscriber_pages)
    app.include_router(ack_pages)
    app.include_router(propagation_pages)
    app.include_router(case_pages)
    app.include_router(privacy_pages)
    app.include_router(remediation_pages)
    app.include_router(probe_pages)
    # Re-users bound and known: update clauses, gated access, copies, declared derivatives.
    for provider_router in (clauses_provider_router, access_provider_router):
        app.include_router(provider_router, responses={401: {"model": ErrorRead},
                                                       403: {"model": ErrorRead}})
    for reusers in (clauses_public_router, access_public_router, copies_router,
                    clauses_me_router, access_me_router, derivatives_router, model_pages):
        app.include_router(reusers)
    mount_docs_assets(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """The app as `rights-relay serve` runs it, also for ASGI servers started on their own
    (`uvicorn --factory app.main:create_served_app`): the runtime is tuned once the app is
    built (app/ops/runtime.py). Tests build `create_app` in their own process, untuned."""
    from app.ops.runtime import tune_gc

    app = create_app(settings)
    tune_gc()
    return app

