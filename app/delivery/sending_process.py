"""The sending process (see remote.py): `python -m app.delivery.sending_process FD PARENT_PID`,
started by the delivery worker, talking to it over the socket FD. It runs the same senders as
an in-process worker (send.py) and hands back each outcome; it keeps no state worth saving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from typing import Any

from app.config import Settings
from app.delivery.attempt import Outcome
from app.delivery.remote import frame, job_from, outcome_fields, read_frame
from app.delivery.send import Sender
from app.delivery.signing import ServiceKeys
from app.delivery.ssrf import SystemResolver
from app.ops.runtime import tune_gc

log = logging.getLogger("app.delivery.sending_process")
# Outcomes are sent back once this many are in, or this many seconds after the first (the
# worker records in batches after a 50 ms window anyway), or at once when no send is left.
FRAME_OUTCOMES = 256
FRAME_WAIT = 0.01


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the worker dies, even by SIGKILL, so that no send of a dead
    worker's outlives it (its leases are taken again). Elsewhere the end of file stops us."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)


class Child:
    def __init__(self, settings: Settings, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.seqs: dict[int, int] = {}  # id(job) -> its number in the parent
        self.outcomes: list[tuple[Any, ...]] = []
        self.freed = False
        self.flush_at: asyncio.TimerHandle | None = None
        self.sender = Sender(settings, ServiceKeys.from_settings(settings), SystemResolver(),
                             done=self.done, room=self.room)

    def done(self, o: Outcome) -> None:
        self.outcomes.append(outcome_fields(self.seqs.pop(id(o.job)), o))
        if len(self.outcomes) >= FRAME_OUTCOMES or not self.seqs:
            self.flush()
        elif self.flush_at is None:
            self.flush_at = asyncio.get_running_loop().call_later(FRAME_WAIT, self.flush)

    def room(self) -> None:
        self.freed = True
        self.flush()

    def flush(self) -> None:
        """Outcomes go back in frames of many (each frame wakes the worker's loop once)."""
        if self.flush_at is not None:
            self.flush_at.cancel()
            self.flush_at = None
        if self.outcomes or self.freed:
            self.writer.write(frame(("done", self.outcomes, self.sender.waiting, self.freed)))
            self.outcomes, self.freed = [], False

    def submit(self, fields: tuple[Any, ...]) -> None:
        seq, job = job_from(fields)
        self.seqs[id(job)] = seq
        self.sender.submit(job)

    async def serve(self, reader: asyncio.StreamReader) -> None:
        async with self.sender.running():
            tune_gc()  # as in the worker: thousands of live sends, or a quarter of the CPU
            self.writer.write(frame(("ready", None)))
            while (batch := await read_frame(reader)) is not None:
                for message in batch:
                    if isinstance(message[0], int):
                        self.submit(message)
                    elif message[0] == "drain":
                        left = await self.sender.drain()
                        self.writer.write(frame(("drained", [self.seqs.pop(id(j))
                                                             for j in left])))
                    elif message[0] == "finish":
                        await self.sender.finish(message[1])
                        self.flush()
                        self.writer.write(frame(("finished", None)))
                        await self.writer.drain()
                        return
                await self.writer.drain()
            # End of file without a finish: the worker is gone; so are we (sends cancelled).
            await self.sender.finish(0)


async def main(fd: int) -> None:
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
    first = await read_frame(reader)
    if first is None:
        return
    [(_, settings)] = first
    await Child(settings, writer).serve(reader)
    writer.close()


if __name__ == "__main__":
    _die_with_parent(int(sys.argv[2]))
    # Ctrl-C and service managers signal the whole process group: the worker alone decides
    # when this process stops (it asks it to finish its sends first).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        import uvloop
    except ImportError:  # pragma: no cover (Windows)
        asyncio.run(main(int(sys.argv[1])))
    else:
        uvloop.run(main(int(sys.argv[1])))
