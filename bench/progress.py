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
            # Each new attempt's delivery looked up by its key (a subquery per row). Written as
            # a join, once earlier runs had filled the tables PostgreSQL's plan took 60-130 ms
            # a look: 2.8 s of the server's CPU in a 100,000 run, beside the worker's (measured
            # by timing the looks); this form takes 1-17 ms.
            self.done += int(self.conn.execute(sa.text(
                "SELECT count(*) FROM delivery_attempts a WHERE a.id > :seen "
                "AND a.id <= :last AND a.status_code BETWEEN 200 AND 299 AND (SELECT d.event_id "
                "FROM deliveries d WHERE d.id = a.delivery_id) IN :e"
            ).bindparams(sa.bindparam("e", expanding=True)),
                {"seen": self.seen, "last": last, "e": self.ids}).scalar_one())
            self.seen = last
        self.conn.rollback()  # each look sees the latest commits
        return self.done


def last_attempt(conn: sa.Connection) -> int:
    """The attempt log's last id (0 while empty): a run's looks count what is logged after."""
    return int(conn.execute(sa.text("SELECT max(id) FROM delivery_attempts")).scalar() or 0)


def next_poll(looks: list[tuple[float, int]], expect: int) -> float:
    """Seconds until the next look, from the looks so far (`(time.perf_counter(), done)`): a
    quarter of the time left at the rate between the last two looks that saw progress,
    between 20 ms and 0.25 s.

    Why the latest rate and the low cap: the run is over when a look sees it, so a look late
    by x seconds adds x to the measured time. The rate since the start counts the event's own
    recording (no delivery yet in its first 0.1 s), and the first look that saw any progress
    (500 of 10,000 at 0.2 s) then foretold 3 s more; with a 1 s cap the end was seen 0.1-0.2 s
    after the last delivery was recorded (a tenth of a 10,000 run, always against us). A look
    counts only what was logged since the last (`Progress`): 1-2 ms of CPU, so the 40 or so
    looks of a 100,000 run cost less than one late look did."""
    if not looks or looks[-1][1] == 0:
        return 0.05
    t1, done = looks[-1]
    # From the latest look that saw less; none yet (the first look already saw some): soon.
    earlier = next(((t, d) for t, d in reversed(looks) if d < done), None)
    if earlier is None:
        return 0.05
    t0, d0 = earlier
    rate = (done - d0) / max(t1 - t0, 1e-3)
    return min(0.25, max(0.02, (expect - done) / rate / 4))
