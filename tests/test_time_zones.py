"""Deadlines in the organisation's time zone (GDPR Art. 12(3)): one calendar month on the local
calendar, ending with the local day (23:59:59.999999 local time, stored in UTC); the zone is set
by an admin through the API or the security page."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from app.cases.deadlines import extended_due, first_due
from app.time_zones import zone_names
from tests.casework import SUBJECT_EMAIL, file_and_confirm, model_with_version
from tests.mail import body
from tests.support import TLS
from tests.test_web_signin import HTML, csrf_of, sign_in

PARIS = ZoneInfo("Europe/Paris")
MARK = "Zq7Marker/Nowhere"


def local_end(zone: ZoneInfo, y: int, m: int, d: int) -> datetime:
    return datetime.combine(datetime(y, m, d).date(), clock_time.max, tzinfo=zone).astimezone(UTC)


# --- the month arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(("received", "zone", "due"), [
    # 31 January 10:00 in Paris: the end of the last day of February, Paris time.
    (datetime(2024, 1, 31, 10, 0, tzinfo=PARIS), PARIS, local_end(PARIS, 2024, 2, 29)),
    (datetime(2023, 1, 31, 10, 0, tzinfo=PARIS), PARIS, local_end(PARIS, 2023, 2, 28)),
    # 23:30 UTC on 31 December is already 1 January in Paris: due 1 February, Paris time.
    (datetime(2023, 12, 31, 23, 30, tzinfo=UTC), PARIS, local_end(PARIS, 2024, 2, 1)),
    # The same instant in an organisation on UTC is still 31 December: due 31 January.
    (datetime(2023, 12, 31, 23, 30, tzinfo=UTC), ZoneInfo("UTC"),
     datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    # West of UTC, the local day can be the day before: 02:00 UTC on 1 March is 29 February
    # evening in New York, so the deadline is the end of 29 March, New York time.
    (datetime(2024, 3, 1, 2, 0, tzinfo=UTC), ZoneInfo("America/New_York"),
     local_end(ZoneInfo("America/New_York"), 2024, 3, 29)),
    # Across the spring DST change: the end of the day is 21:59:59 UTC in summer, not 22:59.
    (datetime(2024, 2, 28, 12, 0, tzinfo=PARIS), PARIS,
     datetime(2024, 3, 28, 22, 59, 59, 999999, tzinfo=UTC)),
    (datetime(2024, 3, 15, 12, 0, tzinfo=PARIS), PARIS,
     datetime(2024, 4, 15, 21, 59, 59, 999999, tzinfo=UTC)),
    # Across the autumn change, and on the day of the change itself (a 25-hour day).
    (datetime(2024, 9, 27, 12, 0, tzinfo=PARIS), PARIS,
     datetime(2024, 10, 27, 22, 59, 59, 999999, tzinfo=UTC)),
    # A zone whose offset is not whole hours.
    (datetime(2024, 1, 31, 20, 0, tzinfo=UTC), ZoneInfo("Asia/Kolkata"),
     local_end(ZoneInfo("Asia/Kolkata"), 2024, 3, 1)),
])
def test_the_first_deadline_is_the_end_of_a_local_day_a_month_later(received, zone, due):
    assert first_due(received, zone) == due
    assert first_due(received, zone.key) == due  # the stored name works the same


def test_an_extension_counts_from_the_local_day_of_receipt():
    received = datetime(2023, 1, 31, 23, 30, tzinfo=UTC)  # 1 February in Paris
    assert extended_due(received, 2, PARIS) == local_end(PARIS, 2023, 5, 1)
    assert extended_due(received, 2, "UTC") == datetime(2023, 4, 30, 23, 59, 59, 999999,
                                                        tzinfo=UTC)


ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata",
                         "Pacific/Auckland", "Pacific/Kiritimati", "Pacific/Pago_Pago",
                         "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu"])
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                        timezones=st.just(UTC))


@hyp_settings(max_examples=300, deadline=None)
@given(received=INSTANTS, zone_name=ZONES, extension=st.sampled_from([0, 1, 2]))
def test_due_is_always_the_end_of_a_local_day_on_the_same_or_last_day_of_the_month(
        received, zone_name, extension):
    zone = ZoneInfo(zone_name)
    due = (first_due(received, zone) if extension == 0
           else extended_due(received, extension, zone))
    assert due.utcoffset() == timedelta(0)  # stored in UTC
    local_due, local_received = due.astimezone(zone), received.astimezone(zone)
    assert local_due.time() == clock_time.max  # the very end of a local day
    months = (local_due.year - local_received.year) * 12 + local_due.month - local_received.month
    assert months == 1 + extension
    last_day = calendar.monthrange(local_due.year, local_due.month)[1]
    assert local_due.day == min(local_received.day, last_day)
    assert due > received


# --- setting the zone, and filing in it --------------------------------------------------------


@pytest.fixture
def web(server) -> Iterator[httpx.Client]:
    with httpx.Client(verify=TLS, base_url=server.url, headers=HTML, timeout=30) as c:
        yield c


def test_an_admin_sets_the_zone_and_a_request_is_due_at_the_end_of_its_local_day(
        org_a, client, mailbox, clock):
    assert org_a.admin.get("/v1/me").json()["organization"]["time_zone"] == "UTC"
    r = org_a.admin.patch("/v1/organization", json={"time_zone": "Europe/Paris"})
    assert r.status_code == 200, r.text
    assert r.json()["time_zone"] == "Europe/Paris"
    assert org_a.admin.get("/v1/me").json()["organization"]["time_zone"] == "Europe/Paris"

    # Receive the request at 23:30 UTC: already the next day in Paris.
    now = datetime.now(UTC)
    target = now.replace(hour=23, minute=30, second=0, microsecond=0)
    if target <= now + timedelta(seconds=5):
        target += timedelta(days=1)
    clock.advance(target - now)
    model = model_with_version(org_a)
    [ref], _ = file_and_confirm(client, mailbox, [model])
    case = org_a.admin.get(f"/v1/cases/{ref}").json()
    received = datetime.fromisoformat(case["received_at"])
    assert received.astimezone(UTC).hour == 23
    local_day = received.astimezone(PARIS).date()
    assert local_day == received.astimezone(UTC).date() + timedelta(days=1)
    due = datetime.fromisoformat(case["due_at"])
    assert due == first_due(received, PARIS)
    local_due = due.astimezone(PARIS)
    assert local_due.time() == clock_time.max
    assert (local_due.day == local_day.day
            or local_due.day == calendar.monthrange(local_due.year, local_due.month)[1])
    assert due != first_due(received, "UTC")  # the zone made the difference


@pytest.mark.parametrize("zone", [MARK, "", "Europe/Pariss", "../../etc/passwd", "x" * 65,
                                  "utc/../UTC"])
def test_an_unknown_zone_is_a_422_that_does_not_repeat_it(org_a, zone):
    r = org_a.admin.patch("/v1/organization", json={"time_zone": zone})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] and body["fields"][0]["field"] == "time_zone"
    if zone:
        assert zone not in r.text
    assert org_a.admin.get("/v1/me").json()["organization"]["time_zone"] == "UTC"


def test_only_admins_set_the_zone(org_a):
    for role in ("reviewer", "pipeline"):
        r = org_a.client(role).patch("/v1/organization", json={"time_zone": "Europe/Paris"})
        assert r.status_code == 403, r.text
    assert org_a.admin.get("/v1/me").json()["organization"]["time_zone"] == "UTC"


def test_the_security_page_offers_the_zones_in_french_and_english(org_a, web):
    assert "Europe/Paris" in zone_names() and "UTC" in zone_names()
    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    page = web.get("/dashboard/security")
    assert 'name="time_zone"' in page.text and "Time zone" in page.text
    r = web.post("/dashboard/security/time-zone",
                 data={"csrf_token": csrf_of(page), "time_zone": MARK})
    assert r.status_code == 422 and MARK not in r.text
    r = web.post("/dashboard/security/time-zone",
                 data={"csrf_token": csrf_of(page), "time_zone": "Europe/Paris"})
    assert r.status_code == 303
    assert org_a.admin.get("/v1/me").json()["organization"]["time_zone"] == "Europe/Paris"
    assert '<option value="Europe/Paris" selected>' in web.get("/dashboard/security").text
    r = web.post("/dashboard/security/language",
                 data={"csrf_token": csrf_of(page), "language": "fr"})
    assert r.status_code == 303
    assert "Fuseau horaire" in web.get("/dashboard/security").text


def test_west_of_utc_people_read_the_local_due_day(org_a, client, mailbox, web):
    """Due at the end of a New York day is 04:59 UTC the next day: the receipt, the subject's
    status page (and its JSON) and the staff page give the New York day."""
    new_york = ZoneInfo("America/New_York")
    r = org_a.admin.patch("/v1/organization", json={"time_zone": "America/New_York"})
    assert r.status_code == 200, r.text
    model = model_with_version(org_a)
    [ref], status_link = file_and_confirm(client, mailbox, [model])
    due = datetime.fromisoformat(org_a.admin.get(f"/v1/cases/{ref}").json()["due_at"])
    local_due = due.astimezone(new_york)
    token = status_link.rsplit("/", 1)[1]
    view = client.get(f"/v1/public/requests/{token}").json()
    assert view["time_zone"] == "America/New_York"
    assert datetime.fromisoformat(view["due_at"]) == due
    status_page = client.get(status_link, headers=HTML).text
    shown_due = status_page.split('id="due">', 1)[1].split("<", 1)[0]
    assert shown_due == format_date(local_due.date(), "long", locale="en")
    assert local_due.time() == clock_time.max and due.astimezone(UTC).date() != local_due.date()
    receipt = body(mailbox.wait_for(SUBJECT_EMAIL, "Receipt"))
    assert format_date(local_due.date(), "long", locale="en") in receipt
    assert format_date(due.astimezone(UTC).date(), "long", locale="en") not in receipt

    assert sign_in(web, org_a.admin_email, org_a.admin_password).status_code == 303
    page = web.get(f"/dashboard/cases/{ref}")
    assert page.status_code == 200
    shown = page.text.split('id="due">', 1)[1].split("<", 1)[0]
    assert shown.strip() == (f"{format_date(local_due.date(), 'long', locale='en')}, "
                             "23:59 America/New_York")

    # The queue and the staff's emails read in the same zone: the New York day, named so.
    local_day = format_date(local_due.date(), "long", locale="en")
    utc_day = format_date(due.astimezone(UTC).date(), "long", locale="en")
    queue = web.get("/dashboard/cases").text
    assert ref in queue and local_day in queue and utc_day not in queue
    r = org_a.admin.post(f"/v1/cases/{ref}/assignment", json={"assignee": org_a.admin_email})
    assert r.status_code == 200, r.text
    assigned = body(mailbox.wait_for(org_a.admin_email, "is assigned to you"))
    assert f"{local_day}, 23:59 America/New_York" in assigned and utc_day not in assigned
