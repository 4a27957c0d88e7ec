"""Alembic is the only way the schema is made: models and migrations must agree."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import migrate
from app.all_models import Base
from tests.support import make_settings, new_database


def _autogenerate_diff(sync_url: str) -> list:
    engine = sa.create_engine(sync_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return diff


def test_models_and_migrations_agree(settings):
    assert _autogenerate_diff(settings.sync_url) == []


def _tables(sync_url: str) -> set[str]:
    engine = sa.create_engine(sync_url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    return names - {"alembic_version"}


def test_upgrade_downgrade_upgrade(tmp_path):
    db = new_database(str(tmp_path), "roundtrip")
    s = make_settings(db.url, str(tmp_path))
    try:
        migrate.upgrade(s)
        assert _tables(s.sync_url) == set(Base.metadata.tables)
        migrate.downgrade(s, "base")
        assert _tables(s.sync_url) == set()
        migrate.upgrade(s)
        assert _tables(s.sync_url) == set(Base.metadata.tables)
        assert _autogenerate_diff(s.sync_url) == []
    finally:
        db.drop()


def test_each_migration_steps_down_and_up(tmp_path):
    """Every revision's downgrade undoes exactly its upgrade, one step at a time."""
    from alembic.script import ScriptDirectory

    db = new_database(str(tmp_path), "steps")
    s = make_settings(db.url, str(tmp_path))
    try:
        revisions = list(reversed(list(
            ScriptDirectory.from_config(migrate.alembic_config(s)).walk_revisions())))
        for rev in revisions:
            migrate.upgrade(s, rev.revision)
            before = _tables(s.sync_url)
            migrate.downgrade(s, "-1")
            migrate.upgrade(s, rev.revision)
            assert _tables(s.sync_url) == before
    finally:
        db.drop()
