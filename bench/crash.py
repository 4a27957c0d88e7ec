"""Crash recovery, long variant: one event fanned out to 2,000 endpoints while `rights-relay
worker` processes are killed with SIGKILL at random points, several times, on SQLite and
PostgreSQL. Exits non-zero unless every endpoint received the event, no delivery is left
leased, duplicates stay within what the killed workers held, and no delivery was ever sent
twice at the same time.

    python -m bench.crash [--db sqlite,postgresql] [--endpoints 2000] [--kills 6] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from bench.support import database


def scenario(dialect: str, endpoints: int, kills: int, seed: int) -> bool:
    from tests import crash
    from tests.receiver import Receiver
    from tests.support import ServerThread, create_org, make_settings

    with database(dialect) as db:
        settings = make_settings(db.url, tempfile.mkdtemp(prefix="rr-crash-"),
                                 run_delivery_worker=False, run_jobs=False)
        server = ServerThread(settings).start()
        receiver = Receiver().start()
        try:
            org = create_org(server.settings, server.url, "crash")
            org.admin.post("/v1/models", json={"id": "crash/m", "title": "M"}).raise_for_status()
            paths = [f"/crash/{i}" for i in range(endpoints)]
            crash.subscribers(server.settings, "crash/m", [receiver.url(p) for p in paths])

            def publish() -> None:
                org.admin.post("/v1/models/crash/m/versions",
                               json={"label": "v1", "revision": "r"}).raise_for_status()

            report = crash.run(server.settings, receiver, paths, publish, kills=kills,
                               seed=seed, concurrency=64, budget=600)
            org.close()
        finally:
            receiver.stop()
            server.stop()
    ok = (not report.missing and not report.unfinished and report.most_at_once <= 1
          and report.duplicates <= report.held_at_kills)
    print(f"{dialect:10} endpoints={report.endpoints} kills={report.kills} sent={report.sent} "
          f"duplicates={report.duplicates} (bound {report.held_at_kills}) "
          f"missing={len(report.missing)} unfinished={report.unfinished} "
          f"most_at_once={report.most_at_once} {report.seconds:.0f}s "
          f"{'OK' if ok else 'FAILED'}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.crash")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--endpoints", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = [scenario(d, args.endpoints, args.kills, args.seed) for d in args.db.split(",")]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
