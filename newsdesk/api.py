"""The search API for programs: the same search as `newsdesk search`, as JSON over HTTP (aiohttp).

    GET /search?q=...&lang=it&entity=...&topic=...&source=...&since=...&until=...&sort=date|relevance
               &limit=10&after=<cursor>      -> {"total", "hits": [...], "next": cursor|null}
    GET /articles/{id}                        -> the indexed document, or 404
    GET /health                               -> {"search": "ok", "engine": "opensearch"|"elasticsearch"}
    GET /health/live                          -> 200 {"live": true} while the API serves
    GET /health/ready                         -> 200 {"ready": true} when the search engine answers, else 503
    GET|POST /alerts, DELETE /alerts/{name}, POST /alerts/{name}/enable|disable   -> subscriptions (README "Alerts")
    GET /openapi.json                         -> the OpenAPI 3 document of all the above (newsdesk/openapi.json)

Errors are JSON too, `{"error": message}`: 400 for a bad parameter (limit, sort, since/until, cursor) or a query
the engine refuses (a query-language error adds `"position"`, its 0-based column), 404 for an unknown article,
503 `{"error": "search backend unavailable"}` when the engine does not answer. Never a stack trace, never the
engine's address.

With NEWSDESK_API_TOKEN set, every route but /health/live, /health/ready and /openapi.json wants
`Authorization: Bearer <token>` (else 401). On an address that is not loopback the token is required: without
it the API refuses to start, so a search index and its alert subscriptions are never open to a network by mistake.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from importlib.resources import files
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from connectors.elasticsearch import SearchBackend, SearchRequestError, SearchUnavailable, open_backend
from connectors.elasticsearch.query_language import QuerySyntaxError
from connectors.elasticsearch.search import SearchRequest, build_query, decode_cursor, search
from newsdesk.settings import Settings

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
UNAVAILABLE = {"error": "search backend unavailable"}
# Routes a load balancer or orchestrator probes, and the API's description: open even when a token is set.
PUBLIC_PATHS = frozenset({"/health/live", "/health/ready", "/openapi.json"})
# aiohttp's 8 KB request line answered a long query with a plain-text 400 from its parser, before any handler;
# with 1 MB (the body limit too) the handler sees it and answers JSON, and each parameter has a limit of its own.
MAX_REQUEST_LINE = 1024 * 1024
MAX_PARAMETER_CHARS = 2000  # the query language's own limit on `q`; no filter value or cursor is longer
MAX_ENGINE_REASON_CHARS = 300  # an engine's reason can quote a whole query back: the caller gets its start
MAX_ERROR_CHARS = 500


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
    """A message that quotes the caller's input back is cut, so an error stays short whatever was sent."""
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + "…"
    return web.json_response({"error": message}, status=status)


class BadRequest(ValueError):
    pass


_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_LONG = 2**63  # the engines' sort values (dates, epoch milliseconds) are Java longs


def _request_from_query(query: Any) -> SearchRequest:
    for name in ("lang", "entity", "topic", "source", "since", "until", "sort", "limit", "after"):
        if len(query.get(name, "")) > MAX_PARAMETER_CHARS:
            raise BadRequest(f"{name} is too long: at most {MAX_PARAMETER_CHARS} characters")
    sort = query.get("sort", "date")
    if sort not in ("date", "relevance"):
        raise BadRequest("sort is 'date' or 'relevance'")
    text = query.get("limit", "10").strip()
    if not _INTEGER.fullmatch(text):  # int() would also take "1_000" and other scripts' digits
        raise BadRequest("limit must be an integer")
    limit = int(text)
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be between 1 and 1000")
    request = SearchRequest(query=query.get("q", ""), language=query.get("lang"), entity=query.get("entity"),
                            topic=query.get("topic"), source=query.get("source"), since=query.get("since"),
                            until=query.get("until"), sort=sort, limit=limit, after=query.get("after"))
    for name, value in (("since", request.since), ("until", request.until)):
        if value:
            check_bound_range(value, name)
    if request.after:
        check_cursor(request.after, sort)
    return request


_EPOCH_MS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, where ISO dates end too
_DATE_MATH_AMOUNT = re.compile(r"[+-](\d+)[yMwdhHms]")


def check_bound_range(value: str, name: str) -> None:
    """Epoch milliseconds past the year 9999, or date math of millions of units, overflow in the engine, which
    then refuses the whole search with "all shards failed": the caller is told which parameter instead."""
    text = value.strip()
    if (text.isascii() and text.isdigit() and int(text) > _EPOCH_MS_MAX) or any(
            len(amount) > 6 for amount in _DATE_MATH_AMOUNT.findall(text)):
        raise BadRequest(f"{name} is out of range: dates end at 9999-12-31, date math at 999999 units")


def check_cursor(cursor: str, sort: str) -> None:
    """A cursor must hold the sort values this sort makes ([date, id], or [score, date, id] by relevance):
    checked here, because the engine answers a forged one with a parse error in its own words, which say nothing
    useful to a caller of this API."""
    bad = ValueError(f"not a valid page cursor for sort={sort}: pass back the `next` of the previous page")
    try:
        values = decode_cursor(cursor)
    except ValueError:  # its message repeats the cursor, up to MAX_PARAMETER_CHARS of it
        raise bad from None
    expected = 3 if sort == "relevance" else 2
    if len(values) != expected or not isinstance(values[-1], str) or len(values[-1]) > 512:
        raise bad
    numbers = values[:-1]
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not -_LONG <= v < _LONG for v in numbers):
        raise bad
    if not isinstance(numbers[-1], int):  # the date: epoch milliseconds (or the engines' missing-value long)
        raise bad


def _client_message(exc: SearchRequestError) -> str:
    """What a 4xx from the engine says to the caller: its reason (type: message), nothing more, and not all of a
    long one."""
    reason = exc.reason if len(exc.reason) <= MAX_ENGINE_REASON_CHARS else exc.reason[:MAX_ENGINE_REASON_CHARS] + "…"
    return f"the search engine refused the query: {reason}"


# -- the token (NEWSDESK_API_TOKEN) ------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """Only literal loopback addresses and "localhost" count: another name may resolve anywhere, and "" or
    "0.0.0.0" listen on every interface."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def bind_error(host: str, token: str | None) -> str | None:
    """Why the API must not start on `host` (None: it may): off loopback, a missing token would open the index
    and the alert subscriptions to whoever reaches the address."""
    if token or is_loopback(host):
        return None
    return (f"refusing to serve the API on {host or 'every interface'} without a token: set NEWSDESK_API_TOKEN, "
            "or NEWSDESK_API_HOST=127.0.0.1")


def authorized(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (a timing difference would leak the token a
    byte at a time). Bytes, because compare_digest refuses non-ASCII str."""
    if not header:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass"))


def needs_token(path: str, token: str | None) -> bool:
    return bool(token) and path not in PUBLIC_PATHS


def _unauthorized(request: web.Request) -> web.Response:
    """401 with the challenge RFC 6750 asks for; a wrong token is told apart from a missing one, nothing more."""
    given = "Authorization" in request.headers
    challenge = 'Bearer realm="newsdesk"' + (', error="invalid_token"' if given else "")
    message = "invalid API token" if given else "this API needs a token: Authorization: Bearer <NEWSDESK_API_TOKEN>"
    return web.json_response({"error": message}, status=401, headers={"WWW-Authenticate": challenge})


def token_middleware(token: str) -> Middleware:
    """Inside json_errors, so a handler's failure is still JSON; before every handler, so nothing is read or
    written (search engine, Kafka) for a caller without the token."""

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if needs_token(request.path, token) and not authorized(request.headers.get("Authorization"), token):
            return _unauthorized(request)
        return await handler(request)

    return require_token


@cache
def openapi_document() -> dict[str, Any]:
    """The API's description, a package data file (newsdesk/openapi.json): one document for clients, the fuzz
    tests and the route check, which fails when a route and the document disagree."""
    document: dict[str, Any] = json.loads(files("newsdesk").joinpath("openapi.json").read_text(encoding="utf-8"))
    return document


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


async def openapi_handler(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


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
    updates = body.get("updates", False)
    if not isinstance(updates, bool):  # bool() took {} or "no" for a choice the caller did not make
        raise BadRequest("updates must be true or false")
    try:
        subscription, created = await add(
            _store(request), owner, body["name"], body["query"], webhooks=webhooks, emails=emails, slacks=slacks,
            updates=updates,
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
    middlewares = [json_errors, *([token_middleware(settings.api_token)] if settings.api_token else [])]
    app = web.Application(middlewares=middlewares, handler_args={"max_line_size": MAX_REQUEST_LINE})
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
    app.router.add_get("/openapi.json", openapi_handler)
    app.router.add_get("/alerts", alerts_list_handler)
    app.router.add_post("/alerts", alerts_add_handler)
    app.router.add_delete("/alerts/{name}", alerts_remove_handler)
    app.router.add_post("/alerts/{name}/enable", alerts_enable_handler)
    app.router.add_post("/alerts/{name}/disable", alerts_disable_handler)
    return app


def serve(settings: Settings) -> None:
    refused = bind_error(settings.api_host, settings.api_token)
    if refused:  # one line on stderr and exit status 1, no traceback
        raise SystemExit(f"newsdesk api: {refused}")
    log.info("search API on http://%s:%d/search", settings.api_host, settings.api_port)
    web.run_app(make_app(settings), host=settings.api_host, port=settings.api_port, print=None,
                access_log=None)
