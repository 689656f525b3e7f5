"""politeness.py through a real Fetcher and the local server: robots.txt, pacing, caps.

Pacing is checked twice: on a FakeClock (exact intervals, no waiting) and on
the real clock with short intervals, measured by the server as request starts.
Every test runs once per transport (the ``transport`` fixture, as in test_fetch.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from scraper.errors import ConfigError, FetchConnectError, FetchError, FetchRefused
from scraper.fetch.fetcher import Fetcher, FetchOptions, FetchResult, Transport
from scraper.fetch.politeness import RobotsCache, Throttle, Unreachable

from .server import FakeClock, LocalServer

POLITE = FetchOptions(attempts=1, per_host_rate_per_s=1.0)
UNPACED = replace(POLITE, per_host_rate_per_s=None)
#: the transport under test; set for each test by conftest's ``each_transport``
TRANSPORT: Transport = "httpx"

#: every test of this module runs once on each transport (conftest.each_transport)
pytestmark = pytest.mark.usefixtures("each_transport")


def run(options: FetchOptions, job: Callable[[Fetcher], Awaitable[Any]], clock: FakeClock | None = None) -> Any:
    options = replace(options, transport=TRANSPORT)

    async def main() -> Any:
        if clock is None:
            async with Fetcher(options=options) as fetcher:
                return await job(fetcher)
        async with Fetcher(options=options, clock=clock, sleep=clock.sleep) as fetcher:
            return await job(fetcher)

    return asyncio.run(main())


def fetch_all(options: FetchOptions, urls: list[str], clock: FakeClock | None = None) -> list[FetchResult]:
    """Fetch ``urls`` concurrently, as a crawl would."""
    async def job(fetcher: Fetcher) -> list[FetchResult]:
        return list(await asyncio.gather(*(fetcher.fetch(url) for url in urls)))

    result: list[FetchResult] = run(options, job, clock)
    return result


def refusal(options: FetchOptions, url: str, clock: FakeClock | None = None) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_all(options, [url], clock)
    return caught.value


def pages(server: LocalServer, count: int, path: str = "/news/view.do") -> list[str]:
    server.add(path, "<p>news</p>")
    return [server.url(f"{path}?ncd={n}") for n in range(count)]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(sorted(times))]


# -- robots.txt ----------------------------------------------------------------------------------

def test_disallowed_url_is_refused_without_being_requested(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/private/page", "<p>secret</p>")
    error = refusal(UNPACED, server.url("/private/page"))
    assert isinstance(error, FetchRefused) and error.reason == "robots"
    assert error.attempts == 0  # type: ignore[attr-defined]
    assert server.count("/private") == 0
    assert fetch_all(UNPACED, pages(server, 1))[0].status == 200


def test_rules_for_our_user_agent_win_over_the_wildcard(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /\n\nUser-agent: kbs-scraper\nDisallow: /private/\n",
               content_type="text/plain")
    assert fetch_all(UNPACED, pages(server, 1))[0].status == 200
    assert refusal(UNPACED, server.url("/private/x")).reason == "robots"
    other_bot = replace(UNPACED, user_agent="otherbot/1.0")
    assert refusal(other_bot, server.url("/news/view.do?ncd=1")).reason == "robots"


def test_robots_txt_is_fetched_once_per_host(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    fetch_all(UNPACED, pages(server, 6))
    assert server.count("/robots.txt") == 1
    assert server.count("/news/") == 6


def test_robots_txt_is_fetched_again_after_its_ttl(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    urls = pages(server, 2)
    clock = FakeClock()

    async def job(fetcher: Fetcher) -> None:
        await fetcher.fetch(urls[0])
        clock.now += POLITE.robots_ttl_s + 1
        await fetcher.fetch(urls[1])

    run(UNPACED, job, clock)
    assert server.count("/robots.txt") == 2


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_4xx_robots_txt_allows_everything(server: LocalServer, status: int) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /\n", status=status, content_type="text/plain")
    assert fetch_all(UNPACED, pages(server, 1))[0].status == 200


@pytest.mark.parametrize("status", [500, 503, 429])
def test_an_unavailable_robots_txt_keeps_us_off_the_site_for_a_while(server: LocalServer, status: int) -> None:
    server.add("/robots.txt", "oops", status=status, content_type="text/plain")
    urls = pages(server, 3)
    clock = FakeClock()

    async def job(fetcher: Fetcher) -> list[str]:
        reasons = []
        for url in urls[:2]:
            with pytest.raises(FetchRefused) as caught:
                await fetcher.fetch(url)
            reasons.append(caught.value.reason)
        server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")  # the site recovers
        clock.now += POLITE.robots_error_ttl_s + 1
        await fetcher.fetch(urls[2])
        return reasons

    assert run(UNPACED, job, clock) == ["robots-unavailable", "robots-unavailable"]
    assert server.count("/robots.txt") == 2  # asked once while down, once after the error TTL
    assert server.count("/news/") == 1


def test_a_failing_refresh_keeps_the_last_good_robots_txt(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/private/x", "<p>secret</p>")
    urls = pages(server, 2)
    clock = FakeClock()

    async def job(fetcher: Fetcher) -> str:
        await fetcher.fetch(urls[0])
        server.add("/robots.txt", "down", status=503, content_type="text/plain")
        clock.now += POLITE.robots_ttl_s + 1
        await fetcher.fetch(urls[1])  # still allowed by the old copy
        with pytest.raises(FetchRefused) as caught:
            await fetcher.fetch(server.url("/private/x"))  # still disallowed by it
        return caught.value.reason

    assert run(UNPACED, job, clock) == "robots"
    assert server.count("/robots.txt") == 2


def test_unreachable_robots_txt_keeps_the_site_off_limits_and_says_why() -> None:
    async def unreachable(url: str) -> tuple[int, bytes] | Unreachable:
        return Unreachable("connection refused")

    cache = RobotsCache(fetch=unreachable, user_agent="kbs-scraper/0", clock=FakeClock())
    verdict = asyncio.run(cache.check("https://news.example/a"))
    assert (verdict.allowed, verdict.reason, verdict.detail) == (False, "unreachable", "connection refused")


def closed_port() -> int:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("cause", ["refused", "dns", "tls"])
def test_a_host_that_cannot_be_reached_is_named_with_the_cause(server: LocalServer, cause: str) -> None:
    origin, why = {
        "refused": (f"127.0.0.1:{closed_port()}", "connection refused"),
        "dns": ("news.invalid", "name not resolved (DNS)"),  # RFC 6761: .invalid never resolves
        "tls": (server.base.split("://")[1], "TLS: "),  # a plain-HTTP server spoken to in TLS
    }[cause]
    scheme = "https" if cause == "tls" else "http"
    urls = [f"{scheme}://{origin}/news/view.do?ncd={n}" for n in (1, 2)]

    async def job(fetcher: Fetcher) -> list[FetchError]:
        errors = []
        for url in urls:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
            errors.append(caught.value)
        return errors

    first, second = run(UNPACED, job)
    assert isinstance(first, FetchConnectError) and first.reason == "connect"
    assert str(first).startswith(f"{origin}: {why}") and "robots" not in str(first)
    assert str(second) == str(first)  # the host's words, not the URL's: a crawl can report them once


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="per_host_concurrency"):
        FetchOptions(per_host_concurrency=0)
    with pytest.raises(ConfigError, match="per_host_rate_per_s"):
        FetchOptions(per_host_rate_per_s=-1.0)


def test_redirects_into_a_disallowed_path_are_refused(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/private/x", "<p>secret</p>")
    error = refusal(UNPACED, server.url("/redirect?to=/private/x"))
    assert error.reason == "robots"
    assert server.count("/private") == 0


# -- pacing --------------------------------------------------------------------------------------

def test_requests_to_one_host_are_paced_on_the_fake_clock(server: LocalServer) -> None:
    clock = FakeClock()
    fetch_all(POLITE, pages(server, 4), clock)
    assert clock.sleeps == [1.0, 1.0, 1.0] and clock.now == 3.0  # one start a second


def test_crawl_delay_raises_the_interval(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nCrawl-delay: 5\n", content_type="text/plain")
    clock = FakeClock()
    fetch_all(POLITE, pages(server, 3), clock)
    assert clock.sleeps == [5.0, 5.0]


def test_crawl_delay_is_capped(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nCrawl-delay: 86400\n", content_type="text/plain")
    clock = FakeClock()
    fetch_all(replace(POLITE, max_crawl_delay_s=30.0), pages(server, 2), clock)
    assert clock.sleeps == [30.0]


def test_hosts_are_paced_independently() -> None:
    clock = FakeClock()
    throttle = Throttle(rate_per_s=1.0, per_host=2, overall=8, clock=clock, sleep=clock.sleep)

    async def start(host: str) -> float:
        async with throttle.slot(host):
            return clock()

    async def main() -> list[float]:
        return list(await asyncio.gather(start("a.example"), start("b.example"), start("a.example")))

    assert asyncio.run(main()) == [0.0, 0.0, 1.0]


def warm_then_fetch(options: FetchOptions, urls: list[str]) -> None:
    """Fetch ``urls[0]``, then the rest concurrently, on one Fetcher.

    The first request opens the connection (and, on a fresh process, imports
    part of the HTTP stack), which can delay its arrival by tens of
    milliseconds; measured from the server, that would look like pacing error.
    """
    async def job(fetcher: Fetcher) -> None:
        await fetcher.fetch(urls[0])
        await asyncio.gather(*(fetcher.fetch(url) for url in urls[1:]))

    run(options, job)


def test_rate_limit_is_observed_at_the_server(server: LocalServer) -> None:
    warm_then_fetch(replace(POLITE, per_host_rate_per_s=20.0, obey_robots=False), pages(server, 7))
    observed = gaps(server.starts("/news/")[1:])
    assert len(observed) == 5
    # 50 ms apart on average; single gaps move with thread scheduling on a loaded machine,
    # but unpaced requests would arrive about 1 ms apart.
    assert sum(observed) / len(observed) >= 0.045 and min(observed) >= 0.025


def test_crawl_delay_is_observed_at_the_server(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nCrawl-delay: 0.08\n", content_type="text/plain")
    warm_then_fetch(UNPACED, pages(server, 5))
    observed = gaps(server.starts("/news/")[1:])
    assert sum(observed) / len(observed) >= 0.072 and min(observed) >= 0.04


# -- concurrency caps ----------------------------------------------------------------------------

def test_per_host_concurrency_cap_is_observed_at_the_server(server: LocalServer) -> None:
    urls = [server.url(f"/delay?s=0.1&n={n}") for n in range(6)]
    fetch_all(replace(UNPACED, obey_robots=False, per_host_concurrency=2), urls)
    assert server.max_in_flight == 2


def test_global_concurrency_cap_is_observed_at_the_server(server: LocalServer) -> None:
    urls = [server.url(f"/delay?s=0.1&n={n}") for n in range(6)]
    fetch_all(replace(UNPACED, obey_robots=False, per_host_concurrency=6, global_concurrency=3), urls)
    assert server.max_in_flight == 3


def test_politeness_can_be_switched_off(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /\nCrawl-delay: 10\n", content_type="text/plain")
    urls = [server.url(f"/delay?s=0.1&n={n}") for n in range(4)]
    clock = FakeClock()
    fetch_all(POLITE.without_politeness(), urls, clock)
    assert server.count("/robots.txt") == 0
    assert clock.sleeps == []
    assert server.max_in_flight == 4
