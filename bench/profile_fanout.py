"""Profile the delivery worker on the 10,000-endpoint fan-out, in this process (cProfile):
`python -m bench.profile_fanout [--db sqlite|postgresql] [--endpoints N] [--top N]`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time

from bench import fanout_world as fanout
from bench import progress
from bench.support import SECRET, database


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_fanout")
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--endpoints", type=int, default=fanout.ENDPOINTS)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    from pydantic import SecretStr

    from app.config import Settings
    from app.crypto import Keyring
    from app.db import make_engine, make_sessionmaker
    from app.delivery.worker import DeliveryWorker

    with database(args.db) as db, fanout.receiver() as url:
        scenario = fanout.seed(db, [f"{url}/ok/{i}" for i in range(args.endpoints)])
        settings = Settings(database_url=db.url, secret_key=SecretStr(SECRET), environment="test",
                            allow_private_webhook_targets=True, allow_http_webhooks=True,
                            delivery_poll_seconds=0.2)
        event_ids, _ = fanout.supersede(db, scenario)

        async def go() -> float:
            engine = make_engine(settings.sqlalchemy_url)
            stop = asyncio.Event()
            w = DeliveryWorker(make_sessionmaker(engine), settings, Keyring.from_settings(settings))
            task = asyncio.create_task(w.run(stop))
            start = time.perf_counter()
            while await asyncio.to_thread(progress.delivered, db, event_ids) < args.endpoints:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            stop.set()
            await task
            await engine.dispose()
            return elapsed

        profile = cProfile.Profile()
        profile.enable()
        elapsed = asyncio.run(go())
        profile.disable()
    print(f"{args.endpoints} deliveries in {elapsed:.2f} s ({args.db})")
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
