"""The search API for programs: the same search as `newsdesk search`, as JSON over HTTP (aiohttp).

    GET /search?q=...&lang=it&entity=...&topic=...&source=...&since=...&until=...&sort=date|relevance
               &limit=10&after=<cursor>      -> {"total", "hits": [...], "next": cursor|null}
    GET /articles/{id}                        -> the indexed document, or 404
    GET /health                               -> {"search": "ok", "engine": "opensearch"|"elasticsearch"}

Errors are JSON too, `{"error": message}`: 400 for a bad parameter (limit, sort, since/until, cursor) or a query
the engine refuses, 404 for an unknown article, 503 `{"error": "search backend unavailable"}` when the engine
does not answer. Never a stack trace, never the engine's address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from connectors.elasticsearch import SearchBackend, SearchRequestError, SearchUnavailable, open_backend
from connectors.elasticsearch.search import SearchRequest, build_query, search
from newsdesk.settings import Settings

log = logging.getLogger(__name__)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
UNAVAILABLE = {"error": "search backend unavailable"}


class BackendHolder:
    """Opens the backend at first use, so the API starts (and answers 503) while the engine is still down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backend: SearchBackend | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> SearchBackend:
        async with self._lock:
            if self.backend is None:
                self.backend = await open_backend(self.settings.es_url, self.settings.search_engine,
                                                  request_timeout=30, max_retries=1)
            return self.backend

    async def close(self) -> None:
        if self.backend is not None:
            await self.backend.close()


BACKEND_KEY: web.AppKey[BackendHolder] = web.AppKey("backend", BackendHolder)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class BadRequest(ValueError):
    pass


def _request_from_query(query: Any) -> SearchRequest:
    sort = query.get("sort", "date")
    if sort not in ("date", "relevance"):
        raise BadRequest("sort is 'date' or 'relevance'")
    try:
        limit = int(query.get("limit", 10))
    except ValueError:
        raise BadRequest("limit must be an integer") from None
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be between 1 and 1000")
    return SearchRequest(query=query.get("q", ""), language=query.get("lang"), entity=query.get("entity"),
                         topic=query.get("topic"), source=query.get("source"), since=query.get("since"),
                         until=query.get("until"), sort=sort, limit=limit, after=query.get("after"))


def _client_message(exc: SearchRequestError) -> str:
    """What a 4xx from the engine says to the caller: its reason (type: message), nothing more."""
    return f"the search engine refused the query: {exc.reason}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One place turns failures into JSON: a request error is 400, an engine that is down 503, anything else 500
    with a generic message (logged here, with the traceback, never sent)."""
    try:
        return await handler(request)
    except BadRequest as exc:
        return _error(400, str(exc))
    except ValueError as exc:  # from build_query: a page cursor or a since/until that does not parse
        return _error(400, str(exc))
    except SearchUnavailable as exc:
        log.warning("search backend unavailable: %s", exc)
        return web.json_response(UNAVAILABLE, status=503)
    except SearchRequestError as exc:
        if 400 <= exc.status < 500 and exc.status != 404:
            return _error(400, _client_message(exc))
        log.error("search request failed: %s", exc)
        return _error(502, "the search backend failed to answer this request")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, exc.reason)
        raise
    except Exception:
        log.exception("unexpected error on %s", request.path)
        return _error(500, "internal error")


async def search_handler(request: web.Request) -> web.Response:
    search_request = _request_from_query(request.query)
    build_query(search_request)  # a bad since/until or cursor is a 400 even while the engine is down
    backend = await request.app[BACKEND_KEY].get()
    page = await search(backend, request.app[SETTINGS_KEY].index_alias, search_request)
    return web.json_response({"total": page.total, "hits": page.hits, "next": page.next_cursor})


async def article_handler(request: web.Request) -> web.Response:
    alias = request.app[SETTINGS_KEY].index_alias
    backend = await request.app[BACKEND_KEY].get()
    response = await backend.search(alias, {"query": {"ids": {"values": [request.match_info["id"]]}}, "size": 1})
    hits = response["hits"]["hits"]
    if not hits:
        return _error(404, "no such article")
    return web.json_response(hits[0]["_source"])


async def health_handler(request: web.Request) -> web.Response:
    backend = await request.app[BACKEND_KEY].get()
    await backend.health(timeout_s=2)
    return web.json_response({"search": "ok", "engine": backend.engine})


def make_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[SETTINGS_KEY] = settings

    async def backend(app: web.Application) -> AsyncIterator[None]:
        app[BACKEND_KEY] = BackendHolder(settings)
        yield
        await app[BACKEND_KEY].close()

    app.cleanup_ctx.append(backend)
    app.router.add_get("/search", search_handler)
    app.router.add_get("/articles/{id}", article_handler)
    app.router.add_get("/health", health_handler)
    return app


def serve(settings: Settings) -> None:
    log.info("search API on http://%s:%d/search", settings.api_host, settings.api_port)
    web.run_app(make_app(settings), host=settings.api_host, port=settings.api_port, print=None,
                access_log=None)
