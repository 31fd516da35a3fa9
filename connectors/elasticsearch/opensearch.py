"""SearchBackend for OpenSearch 2.x, through `opensearch-py`'s async client (aiohttp).

What is particular to this engine or client, and handled here only:
- request bodies go as `body=` (the client has no keyword fields such as `operations=` or `conditions=`);
- answers are plain dicts already;
- errors are `TransportError(status_code, error, info)`, with status_code "N/A" for no answer (connection
  refused, timeouts): both become backend.SearchError;
- rollover conditions: OpenSearch 2.x knows max_age, max_docs and max_size, not Elasticsearch's
  max_primary_shard_size (see `rollover_conditions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ImproperlyConfigured, TransportError

from connectors.elasticsearch.backend import (
    Engine,
    SearchError,
    SearchRequestError,
    SearchUnavailable,
    error_for_status,
    reason_of,
    scrub,
    split_credentials,
)

T = TypeVar("T")
ROLLOVER_CONDITIONS = frozenset({"max_age", "max_docs", "max_size"})


def translate(exc: BaseException) -> SearchError | None:
    """The neutral error for one of this client's exceptions (None: not a client error, let it through)."""
    if isinstance(exc, TransportError):
        status = exc.status_code
        if not isinstance(status, int):  # "N/A": no HTTP answer (ConnectionError, ConnectionTimeout)
            return SearchUnavailable(scrub(f"{type(exc).__name__}: {exc.error}"))
        return error_for_status(status, scrub(reason_of(exc.info) if exc.info else str(exc.error)))
    if isinstance(exc, ImproperlyConfigured):
        return SearchRequestError(400, scrub(str(exc)))
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return SearchUnavailable(scrub(f"{type(exc).__name__}: {exc}"))
    return None


def rollover_conditions(conditions: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's conditions as OpenSearch 2.x takes them.

    OpenSearch refuses `max_primary_shard_size` (a 400 that would stop every rollover). Its `max_size` counts
    all primary shards of the index; the template gives an index one primary shard, so it is the same limit.
    Other conditions it lacks (max_primary_shard_docs, min_*) are left out.
    """
    adapted = {key: value for key, value in conditions.items() if key in ROLLOVER_CONDITIONS}
    if "max_primary_shard_size" in conditions and "max_size" not in adapted:
        adapted["max_size"] = conditions["max_primary_shard_size"]
    return adapted


class OpenSearchBackend:
    engine: Engine = "opensearch"

    def __init__(self, url: str, *, request_timeout: float = 30.0, max_retries: int = 0) -> None:
        self.url, auth = split_credentials(url)
        self.client = AsyncOpenSearch(hosts=[self.url], http_auth=auth, timeout=request_timeout,
                                      max_retries=max_retries, retry_on_timeout=max_retries > 0)

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from None  # the client's exception (and its URL) stays here

    async def info(self) -> dict[str, Any]:
        return dict(await self._call(self.client.info()))

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self._call(self.client.indices.put_index_template(name=name, body=body))

    async def index_exists(self, index: str) -> bool:
        return bool(await self._call(self.client.indices.exists(index=index)))

    async def alias_exists(self, name: str) -> bool:
        return bool(await self._call(self.client.indices.exists_alias(name=name)))

    async def create_index(self, index: str, body: dict[str, Any]) -> None:
        await self._call(self.client.indices.create(index=index, body=body))

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        await self._call(self.client.indices.update_aliases(body={"actions": actions}))

    async def put_mapping(self, index: str, properties: dict[str, Any]) -> None:
        await self._call(self.client.indices.put_mapping(index=index, body={"properties": properties}))

    async def get_mapping(self, index: str) -> dict[str, Any]:
        return dict(await self._call(self.client.indices.get_mapping(index=index)))

    async def get_alias(self, name: str) -> dict[str, Any]:
        return dict(await self._call(self.client.indices.get_alias(name=name)))

    async def rollover(self, alias: str, conditions: dict[str, Any]) -> dict[str, Any]:
        body = {"conditions": rollover_conditions(conditions)}
        return dict(await self._call(self.client.indices.rollover(alias=alias, body=body)))

    async def bulk(self, operations: list[dict[str, Any]], *, refresh: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"refresh": refresh} if refresh else {}
        return dict(await self._call(self.client.bulk(body=operations, params=params)))

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call(self.client.search(index=index, body=body)))

    async def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        response = await self._call(self.client.count(index=index, body={"query": query or {"match_all": {}}}))
        return int(response["count"])

    async def delete_by_query(self, index: str, query: dict[str, Any], *, refresh: bool = False) -> int:
        response = await self._call(self.client.delete_by_query(
            index=index, body={"query": query}, params={"refresh": "true" if refresh else "false",
                                                        "conflicts": "proceed"}))
        return int(response.get("deleted", 0))

    async def refresh(self, index: str) -> None:
        await self._call(self.client.indices.refresh(index=index))

    async def health(self, timeout_s: float = 2.0) -> dict[str, Any]:
        # not the `timeout` query parameter: opensearch-py's aiohttp connection mistakes it for its own timeout
        return dict(await self._call(self.client.cluster.health(params={"request_timeout": timeout_s})))

    async def close(self) -> None:
        await self.client.close()
