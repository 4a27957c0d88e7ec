"""Atom (RFC 4287) and JSON Feed 1.1 documents from events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from app.db import utcnow
from app.feeds.schemas import EventRead
from app.feeds.service import summarise
from app.i18n import use_language

ATOM = "http://www.w3.org/2005/Atom"
RR = "https://rights-relay.org/ns/feed/1"  # extension elements: machine-readable fields
ET.register_namespace("", ATOM)
ET.register_namespace("rr", RR)


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def atom(*, title: str, feed_url: str, base_url: str, items: list[EventRead],
         clause_url: str | None = None) -> bytes:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, f"{{{ATOM}}}id", feed_url)
    _sub(feed, f"{{{ATOM}}}title", title)
    _sub(feed, f"{{{ATOM}}}updated", _stamp(items[0].occurred_at if items else utcnow()))
    _sub(feed, f"{{{ATOM}}}link", rel="self", href=feed_url, type="application/atom+xml")
    _sub(feed, f"{{{ATOM}}}link", rel="alternate", href=base_url)
    if clause_url:  # the model's update clause binds its re-users (RFC 4946)
        _sub(feed, f"{{{ATOM}}}link", rel="license", href=clause_url, type="text/html")
    author = _sub(feed, f"{{{ATOM}}}author")
    _sub(author, f"{{{ATOM}}}name", "Rights Relay")
    _sub(feed, f"{{{ATOM}}}generator", "Rights Relay")
    for e in items:
        with use_language("en"):  # a feed is one document for everyone: English
            s = summarise(e)
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}id", f"urn:uuid:{e.id}")
        _sub(entry, f"{{{ATOM}}}title", s.title)
        _sub(entry, f"{{{ATOM}}}updated", _stamp(e.occurred_at))
        _sub(entry, f"{{{ATOM}}}published", _stamp(e.occurred_at))
        _sub(entry, f"{{{ATOM}}}link", rel="alternate", type="application/json",
             href=f"{base_url}/v1/public/events/{e.id}")
        _sub(entry, f"{{{ATOM}}}category", term=e.type, label=e.type,
             scheme=f"{RR}#event-type")
        _sub(entry, f"{{{ATOM}}}summary", s.text, type="text")
        _sub(entry, f"{{{RR}}}type", e.type)
        _sub(entry, f"{{{RR}}}model", e.model or "")
        _sub(entry, f"{{{RR}}}action", e.action)
        if e.deadline_at:
            _sub(entry, f"{{{RR}}}deadline", _stamp(e.deadline_at))
        for v in s.affected:
            _sub(entry, f"{{{RR}}}affected", label=v["label"], revision=v["revision"])
        if s.replacement:
            _sub(entry, f"{{{RR}}}replacement", label=s.replacement["label"],
                 revision=s.replacement["revision"])
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + xml


def json_feed(*, title: str, feed_url: str, base_url: str, items: list[EventRead],
              clause_url: str | None = None) -> bytes:
    out: list[dict[str, Any]] = []
    for e in items:
        with use_language("en"):
            s = summarise(e)
        out.append({
            "id": str(e.id), "url": f"{base_url}/v1/public/events/{e.id}", "title": s.title,
            "content_text": s.text, "date_published": _stamp(e.occurred_at), "tags": [e.type],
            "_rights_relay": {
                "type": e.type, "model": e.model, "organization": e.organization,
                "action": e.action, "deadline_at": _stamp(e.deadline_at) if e.deadline_at
                else None, "affected": s.affected, "replacement": s.replacement,
                "position": e.position, "caused_by": str(e.caused_by) if e.caused_by else None,
                "root_id": str(e.root_id) if e.root_id else None,
            },
        })
    doc: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1", "title": title,
        "home_page_url": base_url, "feed_url": feed_url,
        "description": "Model updates re-users of these models must follow (Rights Relay).",
        "authors": [{"name": "Rights Relay"}], "language": "en", "items": out}
    if clause_url:
        doc["_rights_relay"] = {"update_clause": clause_url}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()
