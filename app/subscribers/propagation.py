"""The provider's propagation dashboard: who re-uses the organisation's models, who
acknowledged the updates asking them to act, and which deliveries failed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.acks import service as acks
from app.auth import service as auth_service
from app.db import Session
from app.delivery import service as deliveries
from app.delivery.models import DeliveryStatus
from app.events.models import Event, RequiredAction
from app.feeds.service import event_read, events_query, summarise
from app.licensing import service as licensing
from app.models_registry import service as registry
from app.pagination import PageParams
from app.requests.deps import CurrentKeyring
from app.subscribers import service
from app.web.deps import CurrentUser
from app.web.templating import render

dashboard = APIRouter(include_in_schema=False)


@dashboard.get("/dashboard/propagation")
async def propagation_page(request: Request, session: Session, principal: CurrentUser,
                           keyring: CurrentKeyring) -> Response:
    models, _ = await registry.list_models(session, principal.org_id, PageParams(limit=200))
    followers = {v.model.ref: await service.subscribers_of_model(session, keyring, v.model)
                 for v in models}
    rows = (await session.execute(
        events_query().where(Event.org_id == principal.org_id,
                             Event.action != RequiredAction.no_action)
        .order_by(Event.position.desc()).limit(20))).all()
    events = []
    for row in rows:
        view = event_read(row)
        events.append({"view": view, "summary": summarise(view),
                       "acks": await acks.status(session, row[0])})
    failed = await deliveries.list_deliveries(session, PageParams(limit=20),
                                              org_id=principal.org_id,
                                              status=DeliveryStatus.failed)
    org = await auth_service.get_org(session, principal.org_id)
    clauses = await licensing.current_for(session, [v.model.id for v in models])
    return render(request, "dashboard/propagation.html", {
        "principal": principal, "org": org, "followers": followers, "events": events,
        "failed": failed[0],
        "clauses": {v.model.ref: clauses[v.model.id] for v in models if v.model.id in clauses},
        "acceptances": {v.model.ref: {a.subscriber_id: a for a in
                                      await licensing.acceptances(session, v.model)}
                        for v in models if v.model.id in clauses}})
