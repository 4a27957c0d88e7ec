"""Revision 0010 keeps existing data: a model's single `derived_from` becomes its one parent,
released digests become searchable, licences take their SPDX spelling (or a LicenseRef of
their own); going back down restores the single parent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from app import migrate
from tests.support import make_settings, new_database

U, T, S, B = sa.Uuid(), sa.DateTime(timezone=True), sa.String(), sa.Boolean()


def test_upgrading_to_0010_migrates_parents_digests_and_licences(tmp_path):
    db = new_database(str(tmp_path), "m0010")
    s = make_settings(db.url, str(tmp_path))
    engine = sa.create_engine(s.sync_url, poolclass=sa.pool.NullPool)
    try:
        migrate.upgrade(s, "0006")
        org, base, child, odd, v1 = (uuid.uuid4() for _ in range(5))
        now = datetime.now(UTC).replace(tzinfo=None)
        models = sa.table("models", *(sa.column(c, t) for c, t in (
            ("id", U), ("org_id", U), ("namespace", S), ("name", S), ("title", S),
            ("licence", S), ("derived_from_id", U), ("intake_open", B), ("created_at", T),
            ("updated_at", T))))
        with engine.begin() as conn:
            conn.execute(sa.table("organizations", sa.column("id", U), sa.column("slug", S),
                                  sa.column("name", S), sa.column("created_at", T),
                                  sa.column("updated_at", T)).insert(),
                         {"id": org, "slug": "old", "name": "Old", "created_at": now,
                          "updated_at": now})
            for mid, name, licence, parent in ((base, "base", "apache-2.0", None),
                                               (child, "child", "MIT", base),
                                               (odd, "odd", "Acme Community Licence", None)):
                conn.execute(models.insert(), {
                    "id": mid, "org_id": org, "namespace": "old", "name": name, "title": name,
                    "licence": licence, "derived_from_id": parent, "intake_open": True,
                    "created_at": now, "updated_at": now})
            conn.execute(sa.table("model_versions", *(sa.column(c, t) for c, t in (
                ("id", U), ("model_id", U), ("label", S), ("revision", S),
                ("digests", sa.JSON()), ("released_at", T), ("status", S), ("created_at", T),
                ("updated_at", T)))).insert(), {
                "id": v1, "model_id": base, "label": "v1", "revision": "r1",
                "digests": [{"file": "model.safetensors", "sha256": "a" * 64},
                            {"file": "tokenizer.json", "sha256": "b" * 64}],
                "released_at": now, "status": "current", "created_at": now, "updated_at": now})
        migrate.upgrade(s)
        with engine.connect() as conn:
            edges = conn.execute(sa.text("SELECT child_id, parent_id FROM model_parents")).all()
            digests = conn.execute(sa.text(
                "SELECT file, sha256 FROM version_digests ORDER BY position")).all()
            licences = dict(conn.execute(sa.text("SELECT name, licence FROM models")).all())
            gated = conn.execute(sa.text("SELECT DISTINCT gated FROM models")).scalars().all()
        assert [(uuid.UUID(str(c)), uuid.UUID(str(p))) for c, p in edges] == [(child, base)]
        assert [tuple(d) for d in digests] == [("model.safetensors", "a" * 64),
                                               ("tokenizer.json", "b" * 64)]
        assert licences == {"base": "Apache-2.0", "child": "MIT",
                            "odd": "LicenseRef-Acme-Community-Licence"}
        assert gated == [False]

        migrate.downgrade(s, "0006")
        with engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT name, derived_from_id FROM models")).all())
        assert uuid.UUID(str(back["child"])) == base and back["base"] is None
    finally:
        engine.dispose()
        db.drop()
