"""The webhook wire format as JSON Schema: one document per event type, generated from the
payload models in app/events/schemas.py, committed in webhooks/schemas/ (a test checks them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.events.schemas import PAYLOADS

SCHEMA_BASE = "https://rights-relay.org/webhooks/schemas/"


def _hoist(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    defs = schema.pop("$defs", {})
    return schema, defs


def envelope_schema(event_type: str) -> dict[str, Any]:
    payload, defs = _hoist(PAYLOADS[event_type].model_json_schema(
        mode="serialization", ref_template="#/$defs/{model}"))
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{event_type}.json",
        "title": f"Rights Relay webhook: {event_type}",
        "description": "Body of a Standard Webhooks request. Verify the signature before "
                       "trusting it; deduplicate on the `webhook-id` header.",
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "additionalProperties": False,
        "properties": {
            "type": {"const": event_type},
            "timestamp": {"type": "string", "format": "date-time",
                          "description": "when the event happened (UTC)"},
            "data": payload,
        },
    }
    if defs:
        out["$defs"] = defs
    return out


def schema_files() -> dict[str, str]:
    return {f"{t}.json": json.dumps(envelope_schema(t), indent=2, sort_keys=True) + "\n"
            for t in PAYLOADS}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_files().items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    return written
