"""Sending in a process of its own: the worker's claiming and recording (the database side)
stay in the worker's process, the senders and their HTTP connections run in a child process
(`app.delivery.sending_process`), on a core of their own.

Why: on one event loop, the database side's Python work (building rows, their JSON, the
drivers) took a third of the worker's CPU, and the fan-out was bound by that one process. Here
the child does what a bare client loop does (plus signing), the parent the rest, at once.

The two talk over a socket pair, in frames (a 4-byte length, then a pickle of trusted data:
both ends are this code): jobs go down in one frame per claim, outcomes come back in frames of
up to 256 (or 10 ms after the first), with the child's count of waiting sends. Each job goes by
a number; the parent keeps the Job. Both encodings are here (`job_fields` and `job_from`,
`outcome_fields` and `outcome_from`).

Guarantees, as in one process: a job's result is recorded only by the parent, under the lease
of the claim that sent it. If the child ends unexpectedly, the parent marks it lost (no more
jobs for it), kills what is left of it, gives back (releases) every job it handed over and got
no outcome for, and the worker starts another: those are sent again at once, at least once,
never by two senders at once. The child dies with the parent (Linux: parent-death signal;
elsewhere: at end of file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.config import Settings
from app.delivery.attempt import Job, Outcome
from app.delivery.send import failing_lane_size

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
STARTUP_SECONDS = 60.0


def frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at end of file."""
    try:
        size = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))[0]
        return pickle.loads(await reader.readexactly(size))  # noqa: S301 (our own child)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


_UNUSED = uuid.UUID(int=0)  # a job's endpoint and subscriber, in the child: the parent keeps them


def job_fields(seq: int, job: Job) -> tuple[Any, ...]:
    """What the child needs of a job (the body of one event is pickled once per frame)."""
    return (seq, job.delivery_id, job.attempt, job.url, job.failing, job.msg_id,
            job.event_type, job.body, job.ack_url, job.usable, job.blocked, job.keys)


def job_from(fields: tuple[Any, ...]) -> tuple[int, Job]:
    """The child's side of `job_fields`: the job's number and the job."""
    (seq, delivery_id, attempt, url, failing, msg_id, event_type, body, ack_url, usable,
     blocked, keys) = fields
    return seq, Job(delivery_id=delivery_id, attempt=attempt, endpoint_id=_UNUSED,
                    subscriber_id=_UNUSED, url=url, secrets=[], failing=failing, msg_id=msg_id,
                    event_type=event_type, body=body, ack_url=ack_url, usable=usable,
                    blocked=blocked, keys=keys)


def outcome_fields(seq: int, o: Outcome) -> tuple[Any, ...]:
    return (seq, o.started_at, o.duration_ms, o.status_code, o.error, o.response_body,
            o.retry_after)


def outcome_from(job: Job, fields: tuple[Any, ...]) -> Outcome:
    """The parent's side of `outcome_fields`, for the job it kept."""
    _, started_at, ms, code, error, body, retry_after = fields
    return Outcome(job, started_at, ms, code, error, body, retry_after)


class SendingProcessLost(RuntimeError):
    """The sending process ended without being asked to."""


class RemoteSender:
    """The worker's sender (same interface as `send.Sender`), sending in a child process."""

    def __init__(self, settings: Settings, done: Callable[[Outcome], None],
                 room: Callable[[], None],
                 give_back: Callable[[list[Job]], Any]) -> None:
        self.settings = settings
        self._done = done
        self._room = room
        self._give_back = give_back  # awaitable: release jobs whose outcome will never come
        self.failing_size = failing_lane_size(settings)
        self.waiting = 0  # the child's slow sends that gave their place back
        self.lost = False
        self._finished = False
        self._jobs: dict[int, Job] = {}  # handed over, no outcome yet
        self._failing = 0  # of those, for endpoints already failing
        self._seq = 0
        self._outbox: list[tuple[Any, ...]] = []
        self._wake = asyncio.Event()
        self._replies: asyncio.Queue[Any] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        ours, theirs = socket.socketpair()
        proc = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
            [sys.executable, "-m", "app.delivery.sending_process", str(theirs.fileno()),
             str(os.getpid())], pass_fds=(theirs.fileno(),))
        theirs.close()
        reader, self._writer = await asyncio.open_connection(sock=ours)
        self._writer.write(frame([("settings", self.settings)]))
        tasks = [asyncio.create_task(self._read(reader, proc)),
                 asyncio.create_task(self._write())]
        try:
            # Ready once it has imported and started its senders (or it failed to).
            await asyncio.wait_for(self._replies.get(), STARTUP_SECONDS)
            if self.lost:
                raise SendingProcessLost("the sending process did not start")
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._writer.close()
            await _ended(proc, 5.0)
            # Handed over after the child was gone (or never answered for): it is dead now.
            await self._give_back_all()
        if self.lost:
            raise SendingProcessLost("the sending process ended unexpectedly")

    def submit(self, job: Job) -> None:
        self._seq += 1
        self._jobs[self._seq] = job
        if job.failing:
            self._failing += 1
        self._outbox.append(job_fields(self._seq, job))
        self._wake.set()

    def failing_backlog(self) -> int:
        return self._failing

    async def drain(self) -> list[Job]:
        """Take back the jobs the child has not started (none, if it is gone)."""
        if self.lost:
            return []
        seqs = await self._ask(("drain",), 10.0)
        return [job for seq in seqs or [] if (job := self._forget(seq)) is not None]

    async def finish(self, timeout: float) -> None:
        """Let the child's sends under way end (at most `timeout`) and their outcomes come."""
        if not self.lost:
            await self._ask(("finish", timeout), timeout + 10.0)

    # --- the two directions ----------------------------------------------------------------

    async def _ask(self, message: tuple[Any, ...], timeout: float) -> Any:
        self._outbox.append(message)
        self._wake.set()
        try:
            return await asyncio.wait_for(self._replies.get(), timeout)
        except TimeoutError:
            log.error("the sending process did not answer %s in %.0f s", message[0], timeout)
            return None

    async def _write(self) -> None:
        assert self._writer is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._outbox = self._outbox, []
            self._writer.write(frame(batch))
            await self._writer.drain()

    async def _read(self, reader: asyncio.StreamReader, proc: subprocess.Popen[bytes]) -> None:
        while (message := await read_frame(reader)) is not None:
            kind = message[0]
            if kind == "done":
                _, outcomes, self.waiting, freed = message
                for fields in outcomes:
                    job = self._forget(fields[0])
                    if job is not None:
                        self._done(outcome_from(job, fields))
                if freed or outcomes:
                    self._room()
            else:  # "ready", or the answer to a drain or a finish
                self._finished = kind == "finished"
                self._replies.put_nowait(message[1])
        # End of file: the child is gone (or going). Unless it was asked to finish and did,
        # it is lost (first: the claim loop stops handing it jobs), and what it held is given
        # back once it surely sends nothing more.
        self.lost = not self._finished
        if proc.poll() is None:
            proc.kill()
        await _ended(proc, 5.0)
        if self.lost:
            log.error("the sending process ended (exit %s) holding %d deliveries; they are "
                      "given back", proc.returncode, len(self._jobs))
        await self._give_back_all()
        self._replies.put_nowait(None)
        self._room()

    async def _give_back_all(self) -> None:
        if self._jobs:
            jobs = list(self._jobs.values())
            self._jobs.clear()
            self._failing = 0
            await self._give_back(jobs)

    def _forget(self, seq: int) -> Job | None:
        job = self._jobs.pop(seq, None)
        if job is not None and job.failing:
            self._failing -= 1
        return job


async def _ended(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for the child's exit (a thread: `Popen.wait` blocks); kill it after `timeout`."""
    try:
        await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait)
