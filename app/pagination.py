"""Keyset pagination: an opaque cursor holding the sort key of the last row returned.

A cursor is checked, not trusted: it must decode to exactly the typed values its list gave out
(`decode_cursor(cursor, datetime, uuid.UUID)`), in the very encoding the service produces.
Anything else (an oversized integer, a boolean where an id goes, a date with an offset, a lone
surrogate) is a 422 `invalid_cursor`, never a database error."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from app.errors import InvalidCursor

T = TypeVar("T")
# Row ids are 64-bit signed integers on both databases.
_MAX_ID = 2**63 - 1
_MAX_TEXT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` to get the next page; null at the end")


class PageParams(BaseModel):
    limit: int = 50
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="from `next_cursor`")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _typed(value: Any, kind: type) -> Any:
    """`value` as `kind`, or ValueError unless it is exactly what `encode_cursor` writes."""
    if kind is int:
        # `type(...) is int`: a JSON `true` is a Python bool, itself an int.
        if type(value) is not int or not 0 <= value <= _MAX_ID:
            raise ValueError
        return value
    if type(value) is not str or len(value) > _MAX_TEXT or "\x00" in value:
        raise ValueError
    value.encode("utf-8")  # a lone surrogate (`"\ud800"`) cannot reach the database
    if kind is str:
        return value
    if kind is uuid.UUID:
        parsed_id = uuid.UUID(value)
        if str(parsed_id) != value:
            raise ValueError
        return parsed_id
    if kind is datetime:
        # Written as a UTC isoformat: any other offset or spelling was not ours.
        moment = datetime.fromisoformat(value)
        offset = moment.utcoffset()
        if offset is None or offset.total_seconds() != 0 or moment.isoformat() != value:
            raise ValueError
        return moment
    raise TypeError(f"no cursor values of type {kind.__name__}")


def decode_cursor(cursor: str, *kinds: type) -> list[Any]:
    """The values of a cursor made by `encode_cursor`, one of each of `kinds` (int, str,
    uuid.UUID, datetime), or `InvalidCursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        typed = [_typed(v, k) for v, k in zip(values, kinds, strict=True)]
        # Byte for byte what we would have written: no second spelling of the same cursor.
        if encode_cursor(values) != cursor:
            raise ValueError
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidCursor from None
    return typed
