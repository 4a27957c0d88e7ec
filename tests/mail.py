"""A real SMTP server for tests: aiosmtpd on a free port, collecting parsed messages."""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support import free_port


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.refuse:
            return "451 4.3.0 try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.box.lock:
            self.box.messages.append(msg)
        return "250 OK"


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse = False
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> Mailbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
        self.refuse = False

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 15) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for msg in self.messages:
                    if msg["To"] == to and subject_contains in str(msg["Subject"]):
                        return msg
            time.sleep(0.05)
        raise AssertionError(f"no email to {to} with {subject_contains!r} within {timeout}s; "
                             f"got {[(m['To'], m['Subject']) for m in self.messages]}")

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


def body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link(msg: EmailMessage, kind: str) -> str:
    m = re.search(rf"https?://\S+/r/{kind}/\S+", body(msg))
    assert m, f"no {kind} link in email"
    return m.group(0)
