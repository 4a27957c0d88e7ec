"""Imports every feature's tables so `Base.metadata` is complete (Alembic, tests)."""

from app.audit.models import AuditEvent, AuditHead
from app.auth.models import ApiKey, Organization, User, WebSession
from app.cases.models import Case, CaseMessage, CaseModel, CaseReminder, Confirmation
from app.db import Base
from app.emails.models import OutboundEmail
from app.events.models import Event
from app.models_registry.models import Model, ModelVersion
from app.ratelimit.models import RateCounter
from app.remediation.models import Remediation, RemediationCase

__all__ = [
    "ApiKey", "AuditEvent", "AuditHead", "Base", "Case", "CaseMessage", "CaseModel",
    "CaseReminder", "Confirmation", "Event", "Model", "ModelVersion", "Organization",
    "OutboundEmail", "RateCounter", "Remediation", "RemediationCase", "User", "WebSession",
]
