from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class ModelParent(Base):
    """One edge of the lineage graph: `child_id` was derived from `parent_id` (a model may have
    several parents: merges, adapters). The parent may belong to another organisation."""

    __tablename__ = "model_parents"

    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), primary_key=True)
    parent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), primary_key=True,
                                                 index=True)
    # The model card's `base_model_relation` (adapter, merge, finetune, quantized), if known.
    relation: Mapped[str | None] = mapped_column(String(32))
    # The order the parents were given in (the first is the main one).
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineageLock(Base):
    """One row, updated first by every lineage change: a row lock on PostgreSQL, the write lock
    on SQLite. Changes are serialized, so two concurrent updates cannot both pass the cycle
    check (A -> B and B -> A at once)."""

    __tablename__ = "lineage_lock"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    changes: Mapped[int] = mapped_column(default=0)
