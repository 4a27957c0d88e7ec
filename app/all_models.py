"""Imports every feature's tables so `Base.metadata` is complete (Alembic, tests)."""

from app.auth.models import ApiKey, Organization, User, WebSession
from app.db import Base
from app.models_registry.models import Model, ModelVersion

__all__ = ["ApiKey", "Base", "Model", "ModelVersion", "Organization", "User", "WebSession"]
