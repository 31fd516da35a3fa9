"""The search API for programs: the same search as `newsdesk search`, as JSON over HTTP (aiohttp).

    GET /search?q=...&lang=it&entity=...&topic=...&source=...&since=...&until=...&sort=date|relevance
               &limit=10&after=<cursor>      -> {"total", "hits": [...], "next": cursor|null}
    GET /articles/{id}                        -> the indexed document, or 404
    GET /health                               -> {"elasticsearch": "ok"|error}
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from elasticsearch import AsyncElasticsearch, NotFoundError

from connectors.elasticsearch.search import SearchRequest, search_async
from newsdesk.settings import Settings

log = logging.getLogger(__name__)
ES_KEY: web.AppKey[AsyncElasticsearch] = web.AppKey("es", AsyncElasticsearch)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


def _request_from_query(query: Any) -> SearchRequest:
    sort = query.get("sort", "date")
    if sort not in ("date", "relevance"):
        raise web.HTTPBadRequest(text="sort is 'date' or 'relevance'")
    try:
        limit = int(query.get("limit", 10))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be an integer") from None
    if not 1 <= limit <= 1000:
        raise web.HTTPBadRequest(text="limit must be between 1 and 1000")
    return SearchRequest(query=query.get("q", ""), language=query.get("lang"), entity=query.get("entity"),
                         topic=query.get("topic"), source=query.get("source"), since=query.get("since"),
                         until=query.get("until"), sort=sort, limit=limit, after=query.get("after"))


async def search_handler(request: web.Request) -> web.Response:
    search_request = _request_from_query(request.query)
    try:
        page = await search_async(request.app[ES_KEY], request.app[SETTINGS_KEY].index_alias, search_request)
    except ValueError as exc:  # a bad cursor
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"total": page.total, "hits": page.hits, "next": page.next_cursor})


async def article_handler(request: web.Request) -> web.Response:
    alias = request.app[SETTINGS_KEY].index_alias
    response = await request.app[ES_KEY].search(index=alias, query={"ids": {"values": [request.match_info["id"]]}},
                                                size=1)
    hits = response["hits"]["hits"]
    if not hits:
        raise web.HTTPNotFound(text="no such article")
    return web.json_response(hits[0]["_source"])


async def health_handler(request: web.Request) -> web.Response:
    try:
        await request.app[ES_KEY].cluster.health(timeout="2s")
        return web.json_response({"elasticsearch": "ok"})
    except (NotFoundError, Exception) as exc:
        return web.json_response({"elasticsearch": repr(exc)}, status=503)


def make_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS_KEY] = settings

    async def client(app: web.Application) -> Any:
        app[ES_KEY] = AsyncElasticsearch(settings.es_url, request_timeout=30)
        yield
        await app[ES_KEY].close()

    app.cleanup_ctx.append(client)
    app.router.add_get("/search", search_handler)
    app.router.add_get("/articles/{id}", article_handler)
    app.router.add_get("/health", health_handler)
    return app


def serve(settings: Settings) -> None:
    log.info("search API on http://%s:%d/search", settings.api_host, settings.api_port)
    web.run_app(make_app(settings), host=settings.api_host, port=settings.api_port, print=None,
                access_log=None)
