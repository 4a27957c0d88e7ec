"""Hugging Face model cards: the YAML front matter of a model's README.md names its parents
(`base_model`, one id or a list), its licence (`license`, with `license_name` when `other`)
and how it was derived (`base_model_relation`). `import_card` registers or updates the model
and its parents from it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, DomainError
from app.licensing import spdx
from app.lineage import graph
from app.models_registry import service as registry
from app.models_registry.models import Model
from app.models_registry.schemas import MODEL_ID_PATTERN, ModelCreate

RELATIONS = ("adapter", "merge", "finetune", "quantized")
# Licence ids of the Hub that are not on the SPDX list: kept as `LicenseRef-<id>`.
HUB_LICENCES = frozenset({
    "openrail", "openrail++", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "llama2", "llama3", "llama3.1",
    "llama3.2", "llama3.3", "llama4", "gemma", "apple-ascl", "apple-amlr",
    "deepfloyd-if-license", "h-research", "intel-research", "lgpl-lr", "c-uda", "unknown",
    "cc", "mit-0", "other",
})
MAX_CARD_BYTES = 1_000_000


class CardError(DomainError):
    """The card cannot be read: no front matter, YAML errors, wrong types."""


@dataclass
class Card:
    source: Path
    base_models: list[str] = field(default_factory=list)
    licence: str | None = None
    relation: str | None = None


def _readme(path: Path) -> Path:
    readme = path / "README.md" if path.is_dir() else path
    if not readme.is_file():
        raise CardError(f"{path}: no README.md (a model card) there")
    return readme


def _ref(value: Any, what: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(MODEL_ID_PATTERN, value) \
            or ".." in value:
        raise CardError(f"{what}: expected a model id `namespace/name`")
    return value


def _licence(meta: dict[str, Any]) -> str | None:
    value = meta.get("license")
    if value is None:
        return None
    if not isinstance(value, str):
        raise CardError("license: expected one licence id (a string)")
    if value.lower() == "other" and isinstance(meta.get("license_name"), str):
        value = meta["license_name"]
    elif value.lower() in HUB_LICENCES:
        pass
    else:
        try:
            return spdx.normalise(value, "license")
        except spdx.UnknownLicence as exc:
            raise CardError(exc.detail) from None
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", value).strip("-")[:80]
    if not name:
        raise CardError("license: expected a licence id")
    return f"LicenseRef-{name}"


def parse(text: str, source: Path) -> Card:
    text = text.lstrip("\ufeff")
    handler = YAMLHandler()
    if not handler.detect(text):
        raise CardError(f"{source}: no YAML front matter (a block between --- lines at the top)")
    try:
        front, _ = handler.split(text)
        meta = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The front text starts on the opening --- line: its line n is the file's line n + 1.
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CardError(f"{source}: the front matter is not valid YAML{where}") from None
    except ValueError:
        raise CardError(f"{source}: the front matter is not closed by a --- line") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise CardError(f"{source}: the front matter must be a mapping (key: value lines)")
    card = Card(source=source)
    base = meta.get("base_model")
    if isinstance(base, list):
        if not base:
            raise CardError("base_model: an empty list")
        card.base_models = [_ref(b, f"base_model[{i}]") for i, b in enumerate(base)]
    elif base is not None:
        card.base_models = [_ref(base, "base_model")]
    card.licence = _licence(meta)
    relation = meta.get("base_model_relation")
    if relation is not None:
        if relation not in RELATIONS:
            raise CardError(f"base_model_relation: expected one of {', '.join(RELATIONS)}")
        if not card.base_models:
            raise CardError("base_model_relation: given without a base_model")
        card.relation = relation
    return card


def read(path: Path) -> Card:
    readme = _readme(path)
    if readme.stat().st_size > MAX_CARD_BYTES:
        raise CardError(f"{readme}: larger than {MAX_CARD_BYTES} bytes; not a model card")
    try:
        text = readme.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CardError(f"{readme}: not UTF-8 text") from None
    return parse(text, readme)


@dataclass
class Imported:
    model: str
    created: bool
    licence: str | None
    parents: list[str]
    placeholders: list[str]


async def import_card(session: AsyncSession, org_id: uuid.UUID, card: Card, model_id: str,
                      title: str | None = None) -> Imported:
    """Register the model (or update the organisation's own), and link it to its parents. A
    parent that is not registered is registered in this organisation as a placeholder with
    intake closed, pointing at its Hub page, so the lineage is whole."""
    placeholders: list[str] = []
    for ref in card.base_models:
        if await registry.find(session, ref) is None:
            await registry.create_model(session, org_id, ModelCreate(
                id=ref, title=ref, homepage=f"https://huggingface.co/{ref}", intake_open=False))
            placeholders.append(ref)
    model = await registry.find(session, model_id)
    created = model is None
    if model is None:
        await registry.create_model(session, org_id, ModelCreate(
            id=model_id, title=title or model_id, licence=card.licence,
            homepage=f"https://huggingface.co/{model_id}"))
        model = await session.scalar(select(Model).where(
            Model.namespace == model_id.split("/")[0], Model.name == model_id.split("/")[1]))
        assert model is not None
    elif model.org_id != org_id:
        raise Conflict(f"model {model_id!r} is registered by another organisation")
    else:
        if card.licence is not None:
            model.licence = card.licence
        if title:
            model.title = title
    if card.base_models:  # a card that names no parent leaves the lineage as it was
        parents = await registry.resolve_parents(
            session, card.base_models, {ref: card.relation for ref in card.base_models
                                        if card.relation})
        await graph.set_parents(session, model, parents)
    await session.flush()
    return Imported(model=model_id, created=created, licence=model.licence,
                    parents=card.base_models, placeholders=placeholders)
