"""Events as re-users read them: the pull API, the feeds' items, and their ETags."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import Organization
from app.errors import NotFound
from app.events.models import Event
from app.feeds.schemas import EventRead
from app.i18n import N_, format_datetime, gettext
from app.models_registry.models import Model
from app.models_registry.service import split_ref


def events_query() -> Select[Event, str, str, str]:
    m = aliased(Model)
    return (select(Event, Organization.slug, m.namespace, m.name)
            .join(Organization, Organization.id == Event.org_id)
            .outerjoin(m, m.id == Event.model_id))


def event_read(row: Any) -> EventRead:
    e, slug, ns, name = row
    return EventRead(position=e.position, id=e.id, type=e.type, organization=slug,
                     model=f"{ns}/{name}" if ns else None, occurred_at=e.occurred_at,
                     action=e.action, deadline_at=e.action_deadline_at,
                     caused_by=e.caused_by_id, root_id=e.root_id, data=e.data)


async def find_model(session: AsyncSession, ref: str) -> Model:
    namespace, name = split_ref(ref)
    model = None if "\x00" in ref else await session.scalar(
        select(Model).where(Model.namespace == namespace, Model.name == name))
    if model is None:
        raise NotFound("model not found")
    return model


async def find_org(session: AsyncSession, slug: str) -> Organization:
    org = None if "\x00" in slug else await session.scalar(
        select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("organisation not found")
    return org


async def events_after(session: AsyncSession, *, after: int, limit: int,
                       model_id: uuid.UUID | None = None, org_id: uuid.UUID | None = None,
                       types: list[str] | None = None) -> tuple[list[EventRead], bool]:
    query = events_query().where(Event.position > after)
    if model_id is not None:
        query = query.where(Event.model_id == model_id)
    if org_id is not None:
        query = query.where(Event.org_id == org_id)
    if types:
        query = query.where(Event.type.in_(types))
    rows = (await session.execute(query.order_by(Event.position).limit(limit + 1))).all()
    return [event_read(r) for r in rows[:limit]], len(rows) > limit


async def latest(session: AsyncSession, *, limit: int, model_id: uuid.UUID | None = None,
                 org_id: uuid.UUID | None = None) -> list[EventRead]:
    query = events_query()
    if model_id is not None:
        query = query.where(Event.model_id == model_id)
    if org_id is not None:
        query = query.where(Event.org_id == org_id)
    rows = (await session.execute(query.order_by(Event.position.desc()).limit(limit))).all()
    return [event_read(r) for r in rows]


def etag(kind: str, key: str, items: list[EventRead]) -> str:
    # Events are append-only: the newest position names the feed's content.
    newest = items[0].position if items else 0
    digest = hashlib.sha256(f"{kind}:{key}:{newest}:{len(items)}".encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {t.strip() for t in if_none_match.split(",")}
    weak = tag.removeprefix("W/")
    return "*" in candidates or tag in candidates or weak in candidates \
        or f"W/{weak}" in candidates


# --- what an item says -----------------------------------------------------------------------


@dataclass
class Summary:
    title: str
    text: str
    affected: list[dict[str, Any]]
    replacement: dict[str, Any] | None


ACTION_TEXT = {
    "none": N_("No action needed."),
    "replace": N_("Replace your copies of the affected revision with the replacement revision."),
    "delete": N_("Delete your copies of the affected revision."),
    "review": N_("A model yours derives from was fixed: re-derive or fine-tune your model again "
                 "from the replacement revision."),
}


def summarise(e: EventRead) -> Summary:
    """In the current language (app/i18n.py use_language): the feeds read English, a page its
    reader's language, an email its recipient's."""
    _ = gettext
    d = e.data
    affected: list[dict[str, Any]] = []
    replacement: dict[str, Any] | None = None
    if e.type == "model.version.released":
        replacement = d.get("version")
        what = _("released %(label)s") % {"label": d["version"]["label"]}
    elif e.type == "model.version.superseded":
        affected, replacement = [d["superseded"]], d["replacement"]
        what = _("%(old)s superseded by %(new)s") % {"old": d["superseded"]["label"],
                                                     "new": d["replacement"]["label"]}
    elif e.type == "model.version.withdrawn":
        affected, replacement = [d["withdrawn"]], d.get("replacement")
        what = _("%(label)s withdrawn") % {"label": d["withdrawn"]["label"]}
    elif e.type == "remediation.planned":
        affected = list(d.get("affected", []))
        what = _("remediation planned")
    elif e.type == "remediation.completed":
        affected, replacement = list(d.get("superseded", [])), d.get("version")
        what = _("remediation completed")
    elif e.type == "upstream.remediation":
        up = d["upstream"]
        affected, replacement = [up["superseded"]], up["replacement"]
        what = _("upstream %(model)s fixed (depth %(depth)s)") % {"model": up["model"]["id"],
                                                                   "depth": d["depth"]}
    elif e.type == "model.clause.updated":
        what = _("update clause version %(version)s to accept (%(url)s)") % {
            "version": d["clause"]["version"], "url": d["clause"]["url"]}
    else:
        what = e.type
    title = f"{e.model or e.organization}: {what}"
    lines = [_("Event: %(type)s") % {"type": e.type},
             _(ACTION_TEXT[e.action]) if e.action in ACTION_TEXT else ""]
    if affected:
        lines.append(_("Affected: %(versions)s") % {"versions": ", ".join(
            f"{v['label']} ({v['revision']})" for v in affected)})
    if replacement:
        lines.append(_("Replacement: %(label)s (%(revision)s)") % {
            "label": replacement["label"], "revision": replacement["revision"]})
    if e.deadline_at:
        lines.append(_("Deadline: %(date)s") % {"date": format_datetime(e.deadline_at)})
    return Summary(title=title, text="\n".join(line for line in lines if line),
                   affected=affected, replacement=replacement)
