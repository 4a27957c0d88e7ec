"""How far a fan-out run has got: the deliveries recorded as succeeded, looked at again and
again while the run is measured, and when to look next (bench/fanout_world.py)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from bench.support import Database


def delivered(db: Database, event_ids: list[uuid.UUID],
              conn: sa.Connection | None = None) -> int:
    """Deliveries of `event_ids` recorded as succeeded (counted whole)."""
    ids = [e.hex if db.dialect == "sqlite" else e for e in event_ids]
    query = sa.text("SELECT count(*) FROM deliveries WHERE event_id IN :e AND status = 'succeeded'"
                    ).bindparams(sa.bindparam("e", expanding=True))
    if conn is not None:
        done = int(conn.execute(query, {"e": ids}).scalar_one())
        conn.rollback()  # each look sees the latest commits
        return done
    with db.engine().connect() as own:
        return int(own.execute(query, {"e": ids}).scalar_one())


class Progress:
    """How many deliveries of `event_ids` are recorded as succeeded, looked at again and again
    during a run on one open connection (a new one per look costs PostgreSQL a backend
    process each time: 13 ms a look).

    Counting every delivery at each look cost this process (SQLite) or the server
    (PostgreSQL) 40-60 ms of CPU at 100,000, taken from the run being measured (2 s in a 25 s
    run on SQLite). When the attempt log's rows become visible in the order of their ids, a
    look counts only the successful attempts logged since the last (a delivery succeeds once,
    and its attempt is written in the transaction that marks it succeeded): on SQLite, where
    one transaction writes at a time, and with a single worker, whose batches are written one
    after the other. Otherwise (two workers) each look counts them all."""

    def __init__(self, db: Database, event_ids: list[uuid.UUID], conn: sa.Connection,
                 in_order: bool, since: int) -> None:
        self.db, self.event_ids, self.conn = db, event_ids, conn
        self.in_order = in_order or db.dialect == "sqlite"
        self.ids = [e.hex if db.dialect == "sqlite" else e for e in event_ids]
        self.seen = since  # attempt ids up to this one are counted (`last_attempt` before)
        self.done = 0

    def __call__(self) -> int:
        if not self.in_order:
            return delivered(self.db, self.event_ids, self.conn)
        last = last_attempt(self.conn)
        if last > self.seen:
            self.done += int(self.conn.execute(sa.text(
                "SELECT count(*) FROM delivery_attempts a JOIN deliveries d "
                "ON d.id = a.delivery_id WHERE a.id > :seen AND a.id <= :last "
                "AND a.status_code BETWEEN 200 AND 299 AND d.event_id IN :e"
            ).bindparams(sa.bindparam("e", expanding=True)),
                {"seen": self.seen, "last": last, "e": self.ids}).scalar_one())
            self.seen = last
        self.conn.rollback()  # each look sees the latest commits
        return self.done


def last_attempt(conn: sa.Connection) -> int:
    """The attempt log's last id (0 while empty): a run's looks count what is logged after."""
    return int(conn.execute(sa.text("SELECT max(id) FROM delivery_attempts")).scalar() or 0)


def next_poll(done: int, expect: int, elapsed: float) -> float:
    """Seconds until the next look: a quarter of the time left at the rate so far, between
    50 ms and 1 s. Each look counts the deliveries (40 ms of this process's and the database's
    CPU at 100,000): polled every 0.2 s, the looks took 6 s of CPU from a 28 s run on two
    cores; the end is still seen within 50 ms."""
    if done == 0:
        return 0.05
    left = (expect - done) / (done / elapsed)
    return min(1.0, max(0.05, left / 4))
