"""Shared fixtures: one migrated database and one real server per test session.

Set DATABASE_URL (or RR_TEST_DATABASE_URL) to a PostgreSQL URL to run everything on
PostgreSQL; tests then use a private schema that is dropped at the end. With
RR_TEST_REQUIRE_DB=postgresql the run fails (never skips) if PostgreSQL is not in use or
unreachable, and with RR_TEST_FORBID_SKIPS=1 any skipped test fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import migrate
from app.config import Settings
from tests.mail import Mailbox
from tests.receiver import Receiver, running
from tests.support import (
    TLS,
    Org,
    ServerThread,
    TestDatabase,
    create_org,
    make_settings,
    new_database,
    wipe,
)


def pytest_sessionstart(session: pytest.Session) -> None:
    required = os.environ.get("RR_TEST_REQUIRE_DB")
    if required:
        from tests.support import postgres_url

        actual = "postgresql" if postgres_url() else "sqlite"
        if actual != required:
            pytest.exit(f"RR_TEST_REQUIRE_DB={required} but tests would run on {actual}",
                        returncode=3)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    skipped = len(terminalreporter.stats.get("skipped", []))
    if os.environ.get("RR_TEST_FORBID_SKIPS") and skipped:
        terminalreporter.write_line(
            f"RR_TEST_FORBID_SKIPS: {skipped} test(s) were skipped; failing the run", red=True)
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    db = new_database(str(tmp_path_factory.mktemp("db")))
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture(scope="session")
def smtp() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def mailbox(smtp: Mailbox) -> Iterator[Mailbox]:
    smtp.clear()
    yield smtp
    smtp.clear()


@pytest.fixture(scope="session")
def settings(database: TestDatabase, tmp_path_factory: pytest.TempPathFactory,
             smtp: Mailbox) -> Settings:
    s = make_settings(database.url, str(tmp_path_factory.mktemp("data")),
                      smtp_host="127.0.0.1", smtp_port=smtp.port)
    migrate.upgrade(s)
    return s


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[ServerThread]:
    srv = ServerThread(settings).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    # A test marked shared_world works in data made once for its module, wiped by that module.
    if "settings" in request.fixturenames and not request.node.get_closest_marker("shared_world"):
        wipe(request.getfixturevalue("settings").sync_url)


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(verify=TLS, base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture
def org_a(server: ServerThread) -> Iterator[Org]:
    org = create_org(server.settings, server.url, "org-a")
    yield org
    org.close()


@pytest.fixture
def org_b(server: ServerThread) -> Iterator[Org]:
    org = create_org(server.settings, server.url, "org-b")
    yield org
    org.close()


@pytest.fixture
def clock() -> Iterator[Any]:
    """The service's clock (app/clock.py), moved forward by the test with `clock.advance(...)`
    and put back afterwards. Servers started by tests run in this process and see it too."""
    from app import clock as service_clock

    yield service_clock
    service_clock.reset()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def _receiver() -> Iterator[Receiver]:
    yield from running()


@pytest.fixture
def receiver(_receiver: Receiver) -> Iterator[Receiver]:
    """A real HTTP server receiving webhooks (see tests/receiver.py)."""
    _receiver.clear()
    yield _receiver
    _receiver.clear()
