"""The search connector: index design, versioned sink and search over a SearchBackend (Elasticsearch or OpenSearch).

`open_backend(url, engine)` picks the adapter: "elasticsearch" or "opensearch" as told, or with "auto" from the
server's root answer (`GET /`: `version.distribution == "opensearch"` is OpenSearch, anything else
Elasticsearch), asked once, when the backend is opened. The adapters are imported lazily, by name, so a process
loads only the client it uses.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Literal

import httpx

from connectors.elasticsearch.backend import (
    Engine,
    SearchBackend,
    SearchError,
    SearchRequestError,
    SearchUnavailable,
    error_for_status,
    reason_of,
    redact_url,
    scrub,
    split_credentials,
)

__all__ = ["ADAPTERS", "Engine", "SearchBackend", "SearchError", "SearchRequestError", "SearchUnavailable",
           "detect_engine", "engine_of", "open_backend", "redact_url"]

EngineChoice = Literal["auto", "elasticsearch", "opensearch"]
ADAPTERS: dict[Engine, str] = {
    "elasticsearch": "connectors.elasticsearch.elastic:ElasticBackend",
    "opensearch": "connectors.elasticsearch.opensearch:OpenSearchBackend",
}


def engine_of(root: Any) -> Engine:
    """Which engine answered `GET /`. Pure: OpenSearch says so in version.distribution; Elasticsearch does not."""
    version = root.get("version") if isinstance(root, dict) else None
    distribution = version.get("distribution") if isinstance(version, dict) else None
    return "opensearch" if str(distribution or "").lower() == "opensearch" else "elasticsearch"


async def detect_engine(url: str, timeout_s: float = 10.0) -> Engine:
    """Ask the server at `url` which engine it is. Raises SearchUnavailable / SearchRequestError; like every
    SearchError, their messages do not repeat the URL (the caller says which server, redacted)."""
    clean, auth = split_credentials(url)
    try:
        async with httpx.AsyncClient(timeout=timeout_s, auth=auth) as client:
            response = await client.get(clean.rstrip("/") + "/")
    except httpx.HTTPError as exc:
        raise SearchUnavailable(scrub(f"{type(exc).__name__}: {exc}")) from None
    if response.status_code >= 400:
        try:
            reason = reason_of(response.json())
        except ValueError:
            reason = response.reason_phrase
        raise error_for_status(response.status_code, scrub(reason))
    try:
        return engine_of(response.json())
    except ValueError:
        raise SearchRequestError(response.status_code, "not a search engine (its root answer is not JSON)") from None


def adapter_class(engine: Engine) -> type[SearchBackend]:
    module, _, name = ADAPTERS[engine].partition(":")
    cls: type[SearchBackend] = getattr(import_module(module), name)
    return cls


async def open_backend(url: str, engine: EngineChoice = "auto", *, request_timeout: float = 30.0,
                       max_retries: int = 0) -> SearchBackend:
    """A backend for the server at `url`. With engine "auto" the server must answer (else SearchUnavailable).

    max_retries: the client's own retries of a failed request (the sink does its own backoff: 0 there).
    """
    chosen: Engine = await detect_engine(url) if engine == "auto" else engine
    return adapter_class(chosen)(url, request_timeout=request_timeout, max_retries=max_retries)  # type: ignore[call-arg]
