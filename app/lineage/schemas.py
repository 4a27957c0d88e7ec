from __future__ import annotations

from pydantic import BaseModel, Field

from app.models_registry.schemas import CheckedModelId, Homepage, Licence, Text


class DerivativeCreate(BaseModel):
    """A model you derived from models you follow and publish outside this service."""

    id: CheckedModelId = Field(description="its `namespace/name` where you publish it")
    title: Text = Field(min_length=1, max_length=200)
    url: Homepage = Field(description="where it is published")
    licence: Licence | None = None
    derived_from: list[CheckedModelId] = Field(
        min_length=1, max_length=20, description="the models (that you follow) it derives from")


class DerivativeRead(BaseModel):
    id: str
    title: str
    url: str | None
    licence: str | None
    derived_from: list[str]
    organization: str = Field(description="the organisation slug its events carry")
    feed: str = Field(description="its Atom feed, for its own re-users")
