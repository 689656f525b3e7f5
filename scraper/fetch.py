"""HTTP fetching on httpx. No httpx exception leaves this module untranslated.

This is the one-URL path used by ``scraper extract URL``: timeouts, a size cap
enforced while streaming, redirects to a limit, and a descriptive
User-Agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message

import httpx

from . import __version__
from .errors import FetchConnectError, FetchError, FetchRefused, FetchStatusError, FetchTimeout
from .models import RawPage
from .urls import is_http_url

log = logging.getLogger(__name__)

# Says who we are; operators can add a contact address in config (issue: fetch settings).
USER_AGENT = f"kbs-scraper/{__version__} (news archiver; python-httpx)"


@dataclass(frozen=True, slots=True)
class FetchOptions:
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    # A KBS article page is about 100 KB; nothing legitimate comes near this.
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = USER_AGENT


def fetch_page(url: str, *, client: httpx.Client | None = None, options: FetchOptions | None = None) -> RawPage:
    """GET one page. Raises a FetchError subclass on any failure."""
    opts = options or FetchOptions()
    if not is_http_url(url):
        raise FetchRefused(f"{url}: not an http(s) URL", url=url, reason="scheme")
    own = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(opts.read_timeout_s, connect=opts.connect_timeout_s),
        follow_redirects=True, max_redirects=opts.max_redirects,
        headers={"User-Agent": opts.user_agent},
    )
    try:
        return _get(http, url, opts)
    except httpx.TimeoutException as e:
        raise FetchTimeout(f"{url}: timed out ({type(e).__name__})", url=url, reason="timeout") from e
    except httpx.TooManyRedirects as e:
        raise FetchRefused(f"{url}: too many redirects", url=url, reason="redirects") from e
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as e:
        raise FetchConnectError(f"{url}: connection failed ({e})", url=url, reason="connect") from e
    except httpx.HTTPError as e:
        raise FetchError(f"{url}: {type(e).__name__}: {e}", url=url) from e
    finally:
        if own:
            http.close()


def _get(http: httpx.Client, url: str, opts: FetchOptions) -> RawPage:
    with http.stream("GET", url) as response:
        if response.status_code >= 400:
            raise FetchStatusError(f"{url}: HTTP {response.status_code}", url=url, status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decompressed bytes, so a gzip bomb is capped too
            size += len(chunk)
            if size > opts.max_bytes:
                raise FetchRefused(f"{url}: larger than {opts.max_bytes:,} bytes", url=url, reason="too-large")
            chunks.append(chunk)
        content_type = response.headers.get("content-type")
        return RawPage(
            content=b"".join(chunks), url=url, final_url=str(response.url), content_type=content_type,
            charset=_charset(content_type), status=response.status_code, kind=_kind(content_type),
        )


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    value = message.get_param("charset")
    return value if isinstance(value, str) else None


def _kind(content_type: str | None) -> str:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime == "text/plain":
        return "text"
    return "auto"
