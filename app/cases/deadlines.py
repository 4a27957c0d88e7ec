"""GDPR Art. 12(3) deadlines: one calendar month, extendable once by up to two more."""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later; a day past the end of the month becomes its last day
    (31 January + 1 month = 28/29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def first_due(received_at: datetime) -> datetime:
    return add_months(received_at, 1)
