"""The seam between newsdesk and a search engine: engine-neutral async verbs on plain dicts, and neutral errors.

Everything above this file (the index layout, the versioned sink, search, the API, reindex) speaks only this
Protocol. Two adapters implement it: `elastic.py` (Elasticsearch 8.x/9.x, the `elasticsearch` client) and
`opensearch.py` (OpenSearch 2.x, `opensearch-py`); only they import a client, and a client's exceptions never
leave them: they become `SearchUnavailable` (wait and retry) or `SearchRequestError` (the request is wrong).

Request and response bodies are the engines' REST JSON, the same on both (the index design is shared).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

Engine = Literal["elasticsearch", "opensearch"]
# HTTP statuses that mean "the backend cannot answer now" rather than "this request is wrong".
UNAVAILABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class SearchError(Exception):
    """Base of the errors a SearchBackend raises; its message never holds credentials."""


class SearchUnavailable(SearchError):
    """Connection refused or lost, a timeout, 429 or 5xx: the same request may succeed later."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SearchRequestError(SearchError):
    """The engine refused the request (4xx other than 408/429); `status` 404 means a missing index or alias."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason

    @property
    def not_found(self) -> bool:
        return self.status == 404


def error_for_status(status: int, reason: str) -> SearchError:
    """The neutral error for an HTTP error answer (both adapters use this one table)."""
    if status in UNAVAILABLE_STATUS or status >= 500:
        return SearchUnavailable(f"HTTP {status}: {reason}", status)
    return SearchRequestError(status, reason)


def reason_of(body: Any) -> str:
    """`type: reason` from an engine's error body ({"error": {"type", "reason"}} or a plain string)."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            cause = error.get("root_cause") or [{}]
            kind = error.get("type") or (cause[0].get("type") if isinstance(cause[0], dict) else None) or "error"
            return f"{kind}: {error.get('reason', '')}".rstrip(": ")
        return str(error)
    return str(body) if body else "no reason given"


_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def redact_url(url: str) -> str:
    """`http://user:secret@host:9200/x` -> `http://host:9200/x`: safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def scrub(text: str) -> str:
    """Remove any `user:password@` left in a message (a client may echo the URL it was given)."""
    return _USERINFO.sub("", text)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without credentials, (user, password) or None): the credentials go to the client as basic auth."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    return redact_url(url), (unquote(parts.username), unquote(parts.password or ""))


class SearchBackend(Protocol):
    """What newsdesk asks of a search engine. Bodies and answers are the engines' REST JSON as plain dicts."""

    engine: Engine
    url: str  # without credentials

    async def info(self) -> dict[str, Any]: ...

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None: ...

    async def index_exists(self, index: str) -> bool: ...

    async def alias_exists(self, name: str) -> bool: ...

    async def create_index(self, index: str, body: dict[str, Any]) -> None:
        """`body`: {"aliases": ..., "settings": ..., "mappings": ...}, any of them."""
        ...

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None: ...

    async def put_mapping(self, index: str, properties: dict[str, Any]) -> None: ...

    async def get_mapping(self, index: str) -> dict[str, Any]: ...

    async def get_alias(self, name: str) -> dict[str, Any]:
        """{index: {"aliases": {name: {...}}}}; SearchRequestError(404) when no index has it."""
        ...

    async def rollover(self, alias: str, conditions: dict[str, Any]) -> dict[str, Any]:
        """{"rolled_over": bool, "new_index": str, ...}. Conditions the engine lacks are left out by the adapter."""
        ...

    async def bulk(self, operations: list[dict[str, Any]], *, refresh: str | None = None) -> dict[str, Any]: ...

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def count(self, index: str, query: dict[str, Any] | None = None) -> int: ...

    async def delete_by_query(self, index: str, query: dict[str, Any], *, refresh: bool = False) -> int:
        """Deletes what matches (version conflicts: proceed); returns how many were deleted."""
        ...

    async def refresh(self, index: str) -> None: ...

    async def health(self, timeout_s: float = 2.0) -> dict[str, Any]: ...

    async def close(self) -> None: ...
