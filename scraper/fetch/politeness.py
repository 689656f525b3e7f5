"""Being a good guest: robots.txt, per-host pacing and concurrency caps, Retry-After.

Two pieces, both driven by ``fetch.Fetcher`` and both taking an injectable
clock (and sleep) so tests never wait for real, plus ``retry_after_s``, which
reads a server's own request to back off:

``RobotsCache``
    robots.txt fetched once per origin (scheme, host, port) and kept for
    ``ttl_s``; parsed with protego and asked about our full User-Agent. What a
    fetch outcome means (the choices follow Google's documented behaviour):

    * 2xx: the rules apply; ``Crawl-delay`` for our agent is reported back.
    * 4xx other than 429, or a redirect chain that never ends: there is no
      robots.txt, so everything is allowed.
    * 5xx, 429 or unreachable: the site cannot tell us its rules right now, so
      the *last good copy* is used if we have one; otherwise the whole origin
      counts as disallowed for ``error_ttl_s`` (reason "robots-unavailable",
      or "unreachable" when no answer came at all, with why in ``detail``)
      and robots.txt is asked for again after that. Crawling a site whose
      robots.txt errors is how crawlers end up hammering a sick server; and
      a host that cannot be reached is tried once, not once per URL.

``Throttle``
    A slot per request: at most ``per_host`` requests in flight per host, at
    most ``overall`` in flight in total, and at least ``interval_s`` between
    the *starts* of two requests to one host. A robots.txt ``Crawl-delay``
    longer than that interval replaces it for its host (capped, see
    ``set_crawl_delay``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from protego import Protego

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
@dataclass(frozen=True, slots=True)
class Unreachable:
    """No answer to a robots.txt request at all, and why in a few words ("connection refused")."""

    why: str


#: Fetches one robots.txt URL: (status, body), or Unreachable when the host cannot be reached.
RobotsFetch = Callable[[str], Awaitable[tuple[int, bytes] | Unreachable]]


@dataclass(frozen=True, slots=True)
class RobotsVerdict:
    allowed: bool
    #: why a URL is refused: "robots" (a Disallow rule), "robots-unavailable" or "unreachable"
    reason: str | None = None
    crawl_delay_s: float | None = None
    #: what went wrong with robots.txt when it is unavailable: "HTTP 503", "name not resolved (DNS)"
    detail: str | None = None


@dataclass(slots=True)
class _Rules:
    parser: Protego | None  # None: no usable robots.txt
    allow_all: bool
    expires_at: float
    #: without a parser and not allow_all: the refusal every URL of the origin gets for now
    refusal: RobotsVerdict | None = None


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def host_key(url: str) -> str:
    """The unit of pacing: the host name, so http and https of one server share a budget."""
    return (urlsplit(url).hostname or "").lower()


class RobotsCache:
    """robots.txt per origin, fetched at most once per ``ttl_s`` (concurrent callers share one fetch)."""

    def __init__(self, *, fetch: RobotsFetch, user_agent: str, ttl_s: float = 86_400.0,
                 error_ttl_s: float = 600.0, clock: Clock) -> None:
        self._fetch = fetch
        self._agent = user_agent
        self._ttl_s = ttl_s
        self._error_ttl_s = error_ttl_s
        self._clock = clock
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: str) -> RobotsVerdict:
        rules = await self._rules_for(origin(url))
        if rules.parser is None:
            return rules.refusal or RobotsVerdict(True)
        if not rules.parser.can_fetch(url, self._agent):
            return RobotsVerdict(False, reason="robots")
        return RobotsVerdict(True, crawl_delay_s=rules.parser.crawl_delay(self._agent))

    async def _rules_for(self, key: str) -> _Rules:
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._rules.get(key)
            if cached is not None and cached.expires_at > self._clock():
                return cached
            rules = await self._load(key, stale=cached)
            self._rules[key] = rules
            return rules

    async def _load(self, key: str, *, stale: _Rules | None) -> _Rules:
        got = await self._fetch(key + "/robots.txt")
        now = self._clock()
        if not isinstance(got, Unreachable) and 200 <= got[0] < 300:
            parser = Protego.parse(got[1].decode("utf-8", errors="replace"))
            return _Rules(parser, allow_all=False, expires_at=now + self._ttl_s)
        if not isinstance(got, Unreachable) and got[0] < 500 and got[0] != 429:
            log.debug("%s/robots.txt: HTTP %s, treating the site as unrestricted", key, got[0])
            return _Rules(None, allow_all=True, expires_at=now + self._ttl_s)
        why = got.why if isinstance(got, Unreachable) else f"HTTP {got[0]}"
        if stale is not None and stale.parser is not None:
            log.warning("%s/robots.txt unavailable (%s); keeping the last good copy for %.0f s", key, why,
                        self._error_ttl_s)
            return _Rules(stale.parser, allow_all=False, expires_at=now + self._error_ttl_s)
        # Not a warning: every URL refused meanwhile carries ``why`` to the caller, who reports it.
        log.info("%s/robots.txt unavailable (%s); not crawling the site for %.0f s", key, why, self._error_ttl_s)
        reason = "unreachable" if isinstance(got, Unreachable) else "robots-unavailable"
        return _Rules(None, allow_all=False, expires_at=now + self._error_ttl_s,
                      refusal=RobotsVerdict(False, reason=reason, detail=why))


@dataclass(slots=True)
class _Host:
    slots: asyncio.Semaphore
    interval_s: float
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = -math.inf


class Throttle:
    """Per-host and global concurrency caps plus a minimum interval between request starts per host."""

    def __init__(self, *, rate_per_s: float | None, per_host: int, overall: int, max_crawl_delay_s: float = 60.0,
                 clock: Clock, sleep: Sleep) -> None:
        # No rate (None or 0) means no pacing: benchmarks and local mirrors.
        self._interval_s = 1.0 / rate_per_s if rate_per_s else 0.0
        self._per_host = per_host
        self._overall = asyncio.Semaphore(overall)
        self._max_crawl_delay_s = max_crawl_delay_s
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}

    def set_crawl_delay(self, host: str, delay_s: float | None) -> None:
        """Make the host's interval the larger of our own pacing and robots.txt's Crawl-delay.

        Capped at ``max_crawl_delay_s``: a Crawl-delay of a day would otherwise
        park every task for that host, and a site that means "go away" says
        so with Disallow. ``None`` (no Crawl-delay) restores our own pacing.
        """
        self._host(host).interval_s = max(self._interval_s, min(delay_s or 0.0, self._max_crawl_delay_s))

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one request slot for ``host``; the request should start as soon as this is entered.

        The host's slot is taken before the global one so that tasks queued
        behind a busy host do not hold global slots other hosts could use.
        """
        state = self._host(host)
        async with state.slots, self._overall:
            await self._wait_turn(state)
            yield

    async def _wait_turn(self, state: _Host) -> None:
        # One waiter per host at a time, so two slots cannot claim the same start time.
        async with state.turn:
            delay = state.last_start + state.interval_s - self._clock()
            if delay > 0:
                await self._sleep(delay)
            state.last_start = self._clock()

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self._per_host), self._interval_s)
        return state


def retry_after_s(value: str | None, *, date: str | None = None) -> float | None:
    """Seconds a Retry-After header asks for (RFC 9110 10.2.3); None if absent or unreadable.

    An HTTP-date is measured against the answer's own ``Date`` when it has one,
    so a wrong clock on either side does not matter; else against ours.
    """
    if not value or not (value := value.strip()):
        return None
    if value.isdigit():
        return float(value)
    when, now = _http_date(value), _http_date(date) or datetime.now(UTC)
    return None if when is None else max(0.0, (when - now).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed is not None and parsed.tzinfo is None else parsed
