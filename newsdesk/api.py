"""The search API for programs: the same search as `newsdesk search`, as JSON over HTTP (aiohttp).

    GET /search?q=...&lang=it&entity=...&topic=...&source=...&since=...&until=...&sort=date|relevance
               &limit=10&after=<cursor>      -> {"total", "hits": [...], "next": cursor|null}
    GET /articles/{id}                        -> the indexed document, or 404
    GET /health                               -> {"search": "ok", "engine": "opensearch"|"elasticsearch"}
    GET /health/live                          -> 200 {"live": true} while the API serves
    GET /health/ready                         -> 200 {"ready": true} when the search engine answers, else 503
    GET|POST /alerts, DELETE /alerts/{name}, POST /alerts/{name}/enable|disable   -> subscriptions (README "Alerts")

Errors are JSON too, `{"error": message}`: 400 for a bad parameter (limit, sort, since/until, cursor) or a query
the engine refuses (a query-language error adds `"position"`, its 0-based column), 404 for an unknown article,
503 `{"error": "search backend unavailable"}` when the engine does not answer. Never a stack trace, never the
engine's address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from connectors.elasticsearch import SearchBackend, SearchRequestError, SearchUnavailable, open_backend
from connectors.elasticsearch.query_language import QuerySyntaxError
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
    try:  # a bad query, since/until or cursor is a 400 even while the engine is down
        build_query(search_request)
    except QuerySyntaxError as exc:  # the position too, 0-based, for a caller to point at the error
        return web.json_response({"error": f"query error at column {exc.position + 1}: {exc.message}",
                                  "position": exc.position}, status=400)
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


async def live_handler(request: web.Request) -> web.Response:
    return web.json_response({"live": True})


async def ready_handler(request: web.Request) -> web.Response:
    """Ready when the search engine answers within 2 s; a 503 says only that (never the exception)."""
    try:
        backend = await request.app[BACKEND_KEY].get()
        await backend.health(timeout_s=2)
    except (SearchUnavailable, SearchRequestError) as exc:
        log.warning("not ready: search backend unavailable: %s", exc)
        return web.json_response({"ready": False, **UNAVAILABLE}, status=503)
    return web.json_response({"ready": True, "engine": backend.engine})


# -- alert subscriptions (newsdesk/subscriptions.py; the same as `newsdesk alerts`) ------------------------------
#   GET /alerts[?owner=]                       -> {"subscriptions": [...]} (never a secret)
#   POST /alerts {"name", "query", "owner"?, "webhook"?, "email"?, "slack"? (a string or a list), "updates"?}
#                                              -> 201 {..., "secret"} (shown this once) | 200 updated, no secret
#   DELETE /alerts/{name}[?owner=]             -> {"removed": key} | 404
#   POST /alerts/{name}/enable|disable[?owner=] -> the subscription | 404
# A query that does not parse is a 400 with its "position"; a private webhook/Slack address a 400; Kafka down 503.

def _store(request: web.Request) -> Any:
    from newsdesk.subscriptions import SubscriptionStore

    settings = request.app[SETTINGS_KEY]
    return SubscriptionStore(settings.bootstrap, settings.topic_subscriptions, client_id=f"{settings.app_id}-api",
                             timeout_s=15)


async def _kafka(call: Callable[..., Any], *args: Any) -> Any:
    """A blocking store call in a thread; Kafka that does not answer is a 503 (LookupError: not found, passed on)."""
    try:
        return await asyncio.to_thread(call, *args)
    except LookupError:
        raise
    except Exception as exc:
        log.warning("subscriptions topic unavailable: %r", exc)
        raise web.HTTPServiceUnavailable(reason="subscriptions topic unavailable") from None


def _strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise BadRequest(f"{name} must be a string or a list of strings")


async def alerts_list_handler(request: web.Request) -> web.Response:
    from newsdesk.subscriptions import public_view

    owner = request.query.get("owner")
    subscriptions = await _kafka(_store(request).load)
    return web.json_response({"subscriptions": [public_view(s) for _, s in sorted(subscriptions.items())
                                                if owner is None or s.owner == owner]})


async def alerts_add_handler(request: web.Request) -> web.Response:
    from newsdesk.subscriptions import QueryRefused, SubscriptionError, add, public_view

    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(body.get("query"), str):
        raise BadRequest("the body must be a JSON object with a \"name\" and a \"query\" (strings)")
    owner = body.get("owner", "default")
    if not isinstance(owner, str):
        raise BadRequest("owner must be a string")
    webhooks, emails = _strings(body.get("webhook"), "webhook"), _strings(body.get("email"), "email")
    slacks = _strings(body.get("slack"), "slack")
    try:
        subscription, created = await add(
            _store(request), owner, body["name"], body["query"], webhooks=webhooks, emails=emails, slacks=slacks,
            updates=bool(body.get("updates", False)),
            allow_private=request.app[SETTINGS_KEY].allow_private_addresses)
    except QueryRefused as exc:
        return web.json_response({"error": str(exc), "position": exc.position}, status=400)
    except SubscriptionError as exc:
        return _error(400, str(exc))
    except Exception as exc:  # the store: Kafka
        log.warning("subscriptions topic unavailable: %r", exc)
        return _error(503, "subscriptions topic unavailable")
    view = public_view(subscription)
    if created:
        return web.json_response({**view, "secret": subscription.secret}, status=201)
    return web.json_response(view)


async def _alerts_change(request: web.Request, action: str) -> web.Response:
    from newsdesk.subscriptions import NotFound, key_of, public_view

    key = key_of(request.query.get("owner", "default"), request.match_info["name"])
    store = _store(request)
    try:
        if action == "remove":
            await _kafka(store.remove, key)
            return web.json_response({"removed": key})
        return web.json_response(public_view(await _kafka(store.set_enabled, key, action == "enable")))
    except NotFound:
        return _error(404, f"no subscription {key}")


async def alerts_remove_handler(request: web.Request) -> web.Response:
    return await _alerts_change(request, "remove")


async def alerts_enable_handler(request: web.Request) -> web.Response:
    return await _alerts_change(request, "enable")


async def alerts_disable_handler(request: web.Request) -> web.Response:
    return await _alerts_change(request, "disable")


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
    app.router.add_get("/health/live", live_handler)
    app.router.add_get("/health/ready", ready_handler)
    app.router.add_get("/alerts", alerts_list_handler)
    app.router.add_post("/alerts", alerts_add_handler)
    app.router.add_delete("/alerts/{name}", alerts_remove_handler)
    app.router.add_post("/alerts/{name}/enable", alerts_enable_handler)
    app.router.add_post("/alerts/{name}/disable", alerts_disable_handler)
    return app


def serve(settings: Settings) -> None:
    log.info("search API on http://%s:%d/search", settings.api_host, settings.api_port)
    web.run_app(make_app(settings), host=settings.api_host, port=settings.api_port, print=None,
                access_log=None)
