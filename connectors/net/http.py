"""An httpx client whose every connection goes through `GuardedBackend` (the address is vetted at connect time,
after DNS, so neither a redirect nor DNS rebinding can reach a private address)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from connectors.net.addresses import GuardedBackend, Resolver


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool opening sockets through `GuardedBackend`."""

    def __init__(self, backend: GuardedBackend, *, limits: httpx.Limits,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(limits=limits, trust_env=False)
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def guarded_client(*, purpose: str, timeout_s: float, user_agent: str, allow_private: bool = False,
                   allowed_hosts: Iterable[str] = (), resolver: Resolver | None = None,
                   max_connections: int = 50) -> httpx.AsyncClient:
    """A client that never follows redirects (a redirect is the caller's decision) and ignores proxy variables."""
    backend = GuardedBackend(allow_private=allow_private, allowed_hosts=allowed_hosts, resolver=resolver,
                             purpose=purpose)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=min(20, max_connections))
    return httpx.AsyncClient(headers={"User-Agent": user_agent}, timeout=httpx.Timeout(timeout_s),
                             follow_redirects=False, transport=GuardedTransport(backend, limits=limits),
                             trust_env=False)


class RequestLogRedactor(logging.Filter):
    """httpx logs every request with its full URL at INFO; a webhook's path or query can be its credential (a Slack
    URL is one), so the URL is cut to scheme://host:port/… in those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("HTTP Request:") and isinstance(record.args, tuple) \
                and len(record.args) >= 2:
            url = httpx.URL(str(record.args[1]))
            port = f":{url.port}" if url.port else ""
            record.args = (record.args[0], f"{url.scheme}://{url.host}{port}/…", *record.args[2:])
        return True


def redact_request_logs() -> None:
    """Install `RequestLogRedactor` on httpx's logger (idempotent)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RequestLogRedactor) for f in logger.filters):
        logger.addFilter(RequestLogRedactor())
