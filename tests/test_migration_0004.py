"""Revision 0004 keeps existing data: messages get their kind, cases their row version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from app import migrate
from tests.support import make_settings, new_database

U, T, S = sa.Uuid(), sa.DateTime(timezone=True), sa.String()


def test_upgrading_to_0004_gives_old_messages_their_kind(tmp_path):
    db = new_database(str(tmp_path), "m0004")
    s = make_settings(db.url, str(tmp_path))
    try:
        migrate.upgrade(s, "0003")
        org, case = uuid.uuid4(), uuid.uuid4()
        now = datetime.now(UTC).replace(tzinfo=None)
        engine = sa.create_engine(s.sync_url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.table("organizations", sa.column("id", U), sa.column("slug", S),
                                  sa.column("name", S), sa.column("created_at", T),
                                  sa.column("updated_at", T)).insert(),
                         {"id": org, "slug": "old", "name": "Old", "created_at": now,
                          "updated_at": now})
            conn.execute(sa.table(
                "cases", *(sa.column(c, t) for c, t in (
                    ("id", U), ("org_id", U), ("reference", S), ("submission_id", U),
                    ("kind", S), ("status", S), ("language", S), ("received_at", T),
                    ("due_at", T), ("subject_index", S), ("status_token_hash", S),
                    ("details", sa.JSON()), ("created_at", T), ("updated_at", T)))).insert(),
                {"id": case, "org_id": org, "reference": "RR-OLD0-0001",
                 "submission_id": uuid.uuid4(), "kind": "erasure", "status": "in_review",
                 "language": "en", "received_at": now, "due_at": now, "subject_index": "x",
                 "status_token_hash": "y", "details": {}, "created_at": now, "updated_at": now})
            messages = sa.table("case_messages", sa.column("id", U), sa.column("case_id", U),
                                sa.column("direction", S), sa.column("author", S),
                                sa.column("created_at", T))
            for direction in ("to_subject", "from_subject"):
                conn.execute(messages.insert(), {"id": uuid.uuid4(), "case_id": case,
                                                 "direction": direction, "author": "a",
                                                 "created_at": now})
        migrate.upgrade(s)
        with engine.connect() as conn:
            kinds = conn.execute(sa.text(
                "SELECT direction, kind FROM case_messages ORDER BY direction")).all()
            versions = conn.execute(sa.text("SELECT row_version FROM cases")).scalars().all()
        engine.dispose()
        assert [tuple(k) for k in kinds] == [("from_subject", "answer"), ("to_subject", "question")]
        assert versions == [1]
    finally:
        db.drop()
