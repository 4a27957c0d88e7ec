"""Sending: a fixed pool of sender coroutines per lane, like a bare client loop.

- Two lanes: endpoints that are healthy, and a smaller one for endpoints already failing.
- A send still unanswered after `webhook_slow_after_seconds` (or four times the recent typical
  answer time, when the receivers or this machine are slower than that) hands its place in the
  lane to a new sender coroutine and finishes as one of at most `webhook_waiting_connections`
  waiting sends: a slow or dead endpoint never holds up the others (it only costs a socket until
  its timeout), and a machine under load does not open a connection for every send.
- A sweeper, every 50 ms, notices slow sends and ends those past `webhook_timeout_seconds`
  (it cancels them, as aiohttp's own total timeout would): a normal send pays for no timer of
  its own (aiohttp's per-request timer was 4-5% of the sending process's CPU).
- Connect-time SSRF check through the session's resolver; IP literals were checked when the job
  was built. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import aiohttp

from app.config import Settings
from app.delivery.attempt import ErrorClass, Job, Outcome
from app.delivery.signing import ServiceKeys
from app.delivery.ssrf import CheckingResolver, Resolver, SSRFBlocked

log = logging.getLogger(__name__)

BODY_LIMIT = 1024  # bytes of a response kept in the attempt log
PIECE_WAIT = 0.25  # seconds an answer's later pieces are waited for (see first_bytes)
USER_AGENT = "RightsRelay-Webhooks/1.0 (+https://www.standardwebhooks.com/)"


def failing_lane_size(settings: Settings) -> int:
    """Senders for endpoints already failing: an eighth of the concurrency, at least two."""
    return max(2, settings.webhook_concurrency // 8)


def client_session(settings: Settings, resolver: Resolver) -> aiohttp.ClientSession:
    """The one HTTP session of a sender: connections for every send and waiting send, the
    connect-time SSRF check in its resolver, no cookies, answers asked for and kept as sent
    (`identity`: the attempt log keeps an answer's first bytes as text, and without the
    header a receiver may compress)."""
    waiting = settings.webhook_waiting_connections
    connector = aiohttp.TCPConnector(
        limit=settings.webhook_concurrency + waiting + 8, limit_per_host=0, ttl_dns_cache=10,
        resolver=CheckingResolver(resolver, allow_private=settings.allow_private_webhook_targets))
    # No total: the sender's sweeper ends a send at `webhook_timeout_seconds` (see Sender).
    timeout = aiohttp.ClientTimeout(total=None,
                                    sock_connect=settings.webhook_connect_timeout_seconds)
    return aiohttp.ClientSession(connector=connector, timeout=timeout,
                                 cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                 headers={"user-agent": USER_AGENT,
                                          "accept-encoding": "identity"})


class _Place:
    """One sender coroutine's current send, as the sweeper sees it."""

    __slots__ = ("expired", "slow", "started", "task")

    def __init__(self, task: asyncio.Task[None]) -> None:
        self.task = task  # the sender coroutine's task (the sweeper cancels a send past due)
        self.started = 0.0  # monotonic start of the current send; 0 while idle
        self.slow = False
        self.expired = False  # the sweeper cancelled the current send: its timeout


class _Lane:
    def __init__(self, size: int, may_wait: bool) -> None:
        self.size = size
        self.may_wait = may_wait
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.places: set[_Place] = set()
        self.tasks: set[asyncio.Task[None]] = set()


class Sender:
    def __init__(self, settings: Settings, keys: ServiceKeys, resolver: Resolver,
                 done: Callable[[Outcome], None], room: Callable[[], None]) -> None:
        self.settings = settings
        self.keys = keys
        self.resolver = resolver
        self._done = done  # each outcome, as soon as it is known
        self._room = room  # a slow send gave its place back
        self.concurrency = settings.webhook_concurrency
        self.slow_after = settings.webhook_slow_after_seconds
        self.timeout = settings.webhook_timeout_seconds
        self.waiting_capacity = settings.webhook_waiting_connections
        self.waiting = 0  # slow sends that gave their place back
        self.lost = False  # (a sending process can be lost; this event loop cannot)
        self.typical = 0.0  # moving average of answered sends' seconds (the slow yardstick)
        self.healthy = _Lane(self.concurrency, may_wait=True)
        self.failing = _Lane(failing_lane_size(settings), may_wait=False)
        self._v1a: dict[tuple[str, int], str] = {}
        self._http: aiohttp.ClientSession | None = None
        self._sweeper: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def failing_size(self) -> int:
        return self.failing.size

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The senders run inside: `drain` and `finish` before leaving."""
        raise_open_files(self.concurrency + self.waiting_capacity + 256)  # a socket per send
        async with client_session(self.settings, self.resolver) as http:
            self.start(http)
            yield

    def start(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        for lane in (self.healthy, self.failing):
            for _ in range(lane.size):
                self._spawn(lane)
        self._sweeper = asyncio.create_task(self._sweep())

    def _spawn(self, lane: _Lane) -> None:
        task = asyncio.create_task(self._serve(lane))
        lane.tasks.add(task)
        task.add_done_callback(lane.tasks.discard)

    def submit(self, job: Job) -> None:
        (self.failing if job.failing else self.healthy).queue.put_nowait(job)

    async def drain(self) -> list[Job]:
        """Take back the jobs not started yet."""
        left: list[Job] = []
        for lane in (self.healthy, self.failing):
            while not lane.queue.empty():
                left.append(lane.queue.get_nowait())
        return left

    def failing_backlog(self) -> int:
        """Jobs of endpoints already failing, queued or being sent."""
        lane = self.failing
        return lane.queue.qsize() + sum(1 for p in lane.places if p.started)

    def busy(self) -> bool:
        return any(p.started for lane in (self.healthy, self.failing) for p in lane.places)

    async def finish(self, timeout: float) -> None:
        """Let the sends under way end (at most `timeout`), then stop every sender."""
        deadline = time.monotonic() + timeout
        while self.busy() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        tasks = [*self.healthy.tasks, *self.failing.tasks]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the sender coroutines -------------------------------------------------------------

    async def _serve(self, lane: _Lane) -> None:
        task = asyncio.current_task()
        assert task is not None
        place = _Place(task)
        lane.places.add(place)
        try:
            while True:
                job = await lane.queue.get()
                place.started = started = time.monotonic()
                outcome = await self.attempt(job, place)
                if place.expired:  # cancelled too late, and the cancel was swallowed: balance
                    place.expired = False
                    place.task.uncancel()
                place.started = 0.0
                if outcome.status_code is not None and not place.slow:
                    self.typical += (time.monotonic() - started - self.typical) * 0.02
                self._done(outcome)
                if place.slow:  # a new sender took this one's place in the lane
                    self.waiting -= 1
                    return
        finally:
            lane.places.discard(place)

    async def _sweep(self) -> None:
        tick = min(0.05, self.slow_after / 2, self.timeout / 4)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            self._expire(now - self.timeout)
            if self._free_slow(now - max(self.slow_after, 4 * self.typical)):
                self._room()

    def _expire(self, limit: float) -> None:
        """Cancel the sends started before `limit`; attempt() logs each as a timeout."""
        for lane in (self.healthy, self.failing):
            for place in lane.places:
                if place.started and not place.expired and place.started < limit:
                    place.expired = True
                    place.task.cancel()

    def _free_slow(self, limit: float) -> bool:
        """Healthy sends started before `limit` give their place to a new sender coroutine."""
        lane = self.healthy
        freed = False
        for place in list(lane.places):
            if self.waiting >= self.waiting_capacity:
                break
            if place.started and not place.slow and place.started < limit:
                place.slow = True
                self.waiting += 1
                self._spawn(lane)
                freed = True
        return freed

    # --- one attempt -----------------------------------------------------------------------

    async def attempt(self, job: Job, place: _Place | None = None) -> Outcome:
        outcome = Outcome(job, datetime.now(UTC), 0)
        if not job.usable:
            return outcome
        start = time.perf_counter()
        try:
            if job.blocked:
                raise SSRFBlocked("a non-public address")
            await self._post(job, outcome)
        except SSRFBlocked:
            outcome.error = ErrorClass.ssrf_blocked
        except aiohttp.ClientConnectorDNSError as exc:
            blocked = isinstance(exc.os_error, SSRFBlocked)
            outcome.error = ErrorClass.ssrf_blocked if blocked else ErrorClass.dns_error
        except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError):
            outcome.error = ErrorClass.tls_error
        except aiohttp.ClientConnectorError:
            outcome.error = ErrorClass.connect_error
        except TimeoutError:
            outcome.error = ErrorClass.timeout
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                aiohttp.ClientOSError, ConnectionError):
            outcome.error = ErrorClass.connection_reset
        except aiohttp.ClientError:
            outcome.error = ErrorClass.client_error
        except asyncio.CancelledError:
            # The sweeper's cancel is this send's timeout; any other (stopping) goes on up.
            if place is None or not place.expired or place.task.uncancel() > 0:
                raise
            place.expired = False
            outcome.error = ErrorClass.timeout
        except Exception:  # never let one endpoint take the worker down
            log.exception("delivery %s: unexpected error", job.delivery_id)
            outcome.error = ErrorClass.client_error
        outcome.duration_ms = int((time.perf_counter() - start) * 1000)
        return outcome

    def headers(self, job: Job, timestamp: int) -> dict[str, str]:
        content = f"{job.msg_id}.{timestamp}.".encode() + job.body
        # Every endpoint of one event signs the same content in a given second: sign it once.
        v1a = self._v1a.get((job.msg_id, timestamp))
        if v1a is None:
            if len(self._v1a) > 50_000:
                self._v1a.clear()
            v1a = self._v1a[(job.msg_id, timestamp)] = self.keys.current.sign_v1a(content)
        v1 = [f"v1,{base64.b64encode(hmac.digest(k, content, 'sha256')).decode()}"
              for k in job.keys]
        headers = {
            "content-type": "application/json",
            "webhook-id": job.msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join([*v1, v1a]),
            "rights-relay-event-type": job.event_type,
            "rights-relay-attempt": str(job.attempt),
        }
        if job.ack_url:
            headers["rights-relay-ack-url"] = job.ack_url
        return headers

    async def _post(self, job: Job, outcome: Outcome) -> None:
        assert self._http is not None
        headers = self.headers(job, int(time.time()))
        async with self._http.post(job.url, data=job.body, headers=headers,
                                   allow_redirects=False) as resp:
            outcome.status_code = resp.status
            raw = await first_bytes(resp.content, BODY_LIMIT)
            # Text as the attempt log keeps it (no NUL: PostgreSQL text cannot hold one).
            outcome.response_body = raw.decode("utf-8", "replace").replace("\x00", "\ufffd") \
                if raw else None
            outcome.retry_after = resp.headers.get("Retry-After")
        if 300 <= resp.status < 400:
            outcome.error = ErrorClass.redirect
        elif not 200 <= resp.status < 300:
            outcome.error = ErrorClass.http_status


async def first_bytes(content: aiohttp.StreamReader, limit: int,
                      wait: float = PIECE_WAIT) -> bytes:
    """Up to `limit` bytes of an answer: one read returns only what has arrived, so an answer
    written in pieces was logged cut after the first. The rest is read as it arrives, for at
    most `wait` seconds after the first piece: a receiver trickling its answer (4 KB at a byte
    every 5 ms) does not hold the sender, and is logged in part."""
    data = await content.read(limit)
    deadline = 0.0
    while data and len(data) < limit:
        more = content.read_nowait(limit - len(data))  # arrived already: no waiting
        if not more:
            if content.is_eof():
                break
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + wait
            try:
                more = await asyncio.wait_for(content.read(limit - len(data)),
                                              deadline - loop.time())
            except TimeoutError:
                break
            if not more:
                break
        data += more
    return data


def raise_open_files(wanted: int) -> None:
    """Every connection is a file descriptor: raise the soft limit towards what we may open."""
    try:
        import resource
    except ImportError:  # pragma: no cover (Windows)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
