"""SearchBackend for Elasticsearch 8.x and 9.x servers, through the `elasticsearch` 8.x client.

The 8.x client, not 9.x: a 9.x client sends `Accept: ...; compatible-with=9`, which 8.x servers refuse, while
the 8.x client's `compatible-with=8` is accepted by 8.x and 9.x servers alike.

What is particular to this client, and handled here only:
- answers are `ObjectApiResponse`s: `.body` gives the plain dict;
- request bodies go as keyword fields (`operations=`, `conditions=`, `query=`, `actions=`) or `body=`;
- errors are `ApiError` (with `.meta.status`) for HTTP answers and elastic_transport's `TransportError`
  (connection refused, timeouts) for no answer: both become backend.SearchError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from elasticsearch import ApiError, AsyncElasticsearch, TransportError, UnsupportedProductError

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


def translate(exc: BaseException) -> SearchError | None:
    """The neutral error for one of this client's exceptions (None: not a client error, let it through)."""
    if isinstance(exc, UnsupportedProductError):  # an ApiError, but the server answered: it is not Elasticsearch
        return SearchRequestError(exc.meta.status or 400, "the server is not Elasticsearch (NEWSDESK_SEARCH_ENGINE "
                                                          "selects the client)")
    if isinstance(exc, ApiError):
        return error_for_status(int(exc.meta.status), scrub(reason_of(exc.body) if exc.body else exc.message))
    if isinstance(exc, TransportError | aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return SearchUnavailable(scrub(f"{type(exc).__name__}: {exc}"))
    return None


def _body(response: Any) -> Any:
    return response.body if hasattr(response, "body") else response


class ElasticBackend:
    engine: Engine = "elasticsearch"

    def __init__(self, url: str, *, request_timeout: float = 30.0, max_retries: int = 0) -> None:
        self.url, auth = split_credentials(url)
        self.client = AsyncElasticsearch(self.url, basic_auth=auth, request_timeout=request_timeout,
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
        return dict(_body(await self._call(self.client.info())))

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self._call(self.client.indices.put_index_template(name=name, body=body))

    async def index_exists(self, index: str) -> bool:
        return bool(await self._call(self.client.indices.exists(index=index)))

    async def alias_exists(self, name: str) -> bool:
        return bool(await self._call(self.client.indices.exists_alias(name=name)))

    async def create_index(self, index: str, body: dict[str, Any]) -> None:
        await self._call(self.client.indices.create(index=index, body=body))

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        await self._call(self.client.indices.update_aliases(actions=actions))

    async def put_mapping(self, index: str, properties: dict[str, Any]) -> None:
        await self._call(self.client.indices.put_mapping(index=index, properties=properties))

    async def get_mapping(self, index: str) -> dict[str, Any]:
        return dict(_body(await self._call(self.client.indices.get_mapping(index=index))))

    async def get_alias(self, name: str) -> dict[str, Any]:
        return dict(_body(await self._call(self.client.indices.get_alias(name=name))))

    async def rollover(self, alias: str, conditions: dict[str, Any]) -> dict[str, Any]:
        return dict(_body(await self._call(self.client.indices.rollover(alias=alias, conditions=conditions))))

    async def bulk(self, operations: list[dict[str, Any]], *, refresh: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"refresh": refresh} if refresh else {}
        return dict(_body(await self._call(self.client.bulk(operations=operations, **kwargs))))

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(_body(await self._call(self.client.search(index=index, body=body))))

    async def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        response = await self._call(self.client.count(index=index, query=query or {"match_all": {}}))
        return int(_body(response)["count"])

    async def delete_by_query(self, index: str, query: dict[str, Any], *, refresh: bool = False) -> int:
        response = await self._call(self.client.delete_by_query(index=index, query=query, refresh=refresh,
                                                                conflicts="proceed"))
        return int(_body(response).get("deleted", 0))

    async def refresh(self, index: str) -> None:
        await self._call(self.client.indices.refresh(index=index))

    async def health(self, timeout_s: float = 2.0) -> dict[str, Any]:
        return dict(_body(await self._call(self.client.cluster.health(timeout=f"{max(1, int(timeout_s))}s"))))

    async def close(self) -> None:
        await self.client.close()
