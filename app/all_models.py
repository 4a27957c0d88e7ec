"""Imports every feature's tables so `Base.metadata` is complete (Alembic, tests)."""

from app.access.models import AccessGrant
from app.acks.models import Acknowledgement, AckReminder
from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from app.auth.models import (
    ApiKey,
    Organization,
    RecoveryCode,
    SignInFailure,
    SignInThrottle,
    User,
    WebSession,
)
from app.cases.models import Case, CaseMessage, CaseModel, CaseReminder, Confirmation
from app.copies.models import VersionDigest
from app.db import Base
from app.delivery.models import Delivery, DeliveryAttempt
from app.emails.models import OutboundEmail
from app.events.models import Event
from app.keys.models import KeyEncryptionKey
from app.licensing.models import ClauseAcceptance, LicenceClause
from app.lineage.models import LineageLock, ModelParent
from app.models_registry.models import Model, ModelVersion, Namespace
from app.notices.models import Notice
from app.privacy.models import PrivacyNotice
from app.probes.models import ProbeEndpoint, ProbeOverride, ProbeRun, ProbeSet, ProbeTemplates
from app.ratelimit.models import RateCounter
from app.remediation.models import Remediation, RemediationCase
from app.subscribers.models import Endpoint, Subscriber, Subscription

__all__ = [
    "AccessGrant", "AckReminder", "Acknowledgement", "ApiKey", "AuditCheckpoint",
    "AuditEvent", "AuditHead", "Base",
    "Case", "CaseMessage", "CaseModel", "CaseReminder", "ClauseAcceptance", "Confirmation",
    "Delivery", "DeliveryAttempt", "Endpoint", "Event", "KeyEncryptionKey", "LicenceClause",
    "LineageLock", "Model", "ModelParent", "ModelVersion", "Namespace", "Notice",
    "Organization", "OutboundEmail", "PrivacyNotice", "ProbeEndpoint", "ProbeOverride",
    "ProbeRun", "ProbeSet", "ProbeTemplates", "RateCounter", "RecoveryCode", "Remediation",
    "RemediationCase", "SignInFailure", "SignInThrottle", "Subscriber", "Subscription", "User",
    "VersionDigest",
    "WebSession",
]
