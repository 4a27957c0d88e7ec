"""What one send is given and what it gives back: light on purpose (no ORM, no service code),
so that the sending process imports only this, the sender and aiohttp."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ErrorClass(StrEnum):
    http_status = "http_status"  # answered, but not 2xx
    redirect = "redirect"  # 3xx: never followed
    timeout = "timeout"
    connect_error = "connect_error"
    dns_error = "dns_error"
    ssrf_blocked = "ssrf_blocked"  # resolved to a private address at connect time
    connection_reset = "connection_reset"
    tls_error = "tls_error"
    client_error = "client_error"


@dataclass(slots=True)
class Job:
    delivery_id: int
    attempt: int  # this attempt's number, from 1
    endpoint_id: uuid.UUID
    subscriber_id: uuid.UUID
    url: str
    secrets: list[str]
    failing: bool
    msg_id: str
    event_type: str
    body: bytes
    ack_url: str | None
    lease_owner: str | None = None
    usable: bool = True  # False: endpoint disabled or removed since the row was written
    blocked: bool = False  # an IP literal the SSRF rules refuse
    keys: tuple[bytes, ...] = ()  # the secrets, decoded (HMAC keys)


@dataclass(slots=True)
class Outcome:
    job: Job
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: ErrorClass | None = None
    response_body: str | None = None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and \
            200 <= self.status_code < 300
