import sqlalchemy as sa

from tests.support import ServerThread, make_settings, new_database


def test_healthz_says_the_process_is_up(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_checks_the_database_is_at_the_migration_head(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "migrations": "head"}


def test_readyz_is_unavailable_on_an_unmigrated_database(tmp_path):
    db = new_database(str(tmp_path), "unmigrated")
    srv = ServerThread(make_settings(db.url, str(tmp_path))).start()
    try:
        import httpx

        r = httpx.get(f"{srv.url}/readyz")
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable"
        assert r.json()["migrations"].startswith("at none")
    finally:
        srv.stop()
        db.drop()


def test_metrics_count_requests_by_route_template(client, org_a):
    org_a.admin.get("/v1/models/acme/secret-name")
    body = client.get("/metrics").text
    assert "rr_http_requests_total" in body
    assert 'route="/v1/models/{namespace}/{name}"' in body
    # The concrete path never becomes a label.
    assert "secret-name" not in body


def test_readyz_reports_a_pending_migration(settings, tmp_path):
    from app import migrate

    db = new_database(str(tmp_path), "behind")
    s = make_settings(db.url, str(tmp_path))
    migrate.upgrade(s)
    engine = sa.create_engine(s.sync_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'older'"))
    engine.dispose()
    srv = ServerThread(s).start()
    try:
        import httpx

        r = httpx.get(f"{srv.url}/readyz")
        assert r.status_code == 503
        assert "at older" in r.json()["migrations"]
    finally:
        srv.stop()
        db.drop()
