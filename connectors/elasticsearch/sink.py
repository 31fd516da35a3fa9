"""Bulk writer: one document per article id, across every index behind the alias, newest version wins.

`write` returns only when the search engine has acknowledged every document, or rejected some for good (a
mapping error, say): it retries connection loss, 429 and 5xx with capped exponential backoff and jitter for
as long as it takes. The caller commits its Kafka offsets after `write` returns, so a search backend that is
down loses nothing: the stream simply waits.

Idempotence and ordering: an id already indexed (in any index behind the read alias, also after a rollover)
is written back into the index that holds it, with external versioning (`version_type=external_gte`), so a
re-delivered article overwrites itself and an older version never replaces a newer one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from connectors.elasticsearch.backend import SearchBackend, SearchRequestError, SearchUnavailable
from connectors.elasticsearch.index import write_alias

log = logging.getLogger(__name__)

# 404: the alias or index is missing (not bootstrapped yet, or being recreated): wait for it, never auto-create.
LAYOUT_TTL_S = 10.0  # another worker's rollover is seen within this time
RETRYABLE_STATUS = frozenset({404, 408, 429, 500, 502, 503, 504})


@dataclass
class Rejected:
    id: str
    status: int
    reason: str


@dataclass
class WriteResult:
    written: int = 0
    stale: int = 0  # an equal or newer version was already indexed
    rejected: list[Rejected] = field(default_factory=list)


class _Unavailable(Exception):
    pass


class ElasticsearchSink:
    """The versioned bulk writer, over any SearchBackend (Elasticsearch or OpenSearch)."""

    def __init__(self, backend: SearchBackend, alias: str, *, max_backoff_s: float = 30.0,
                 wait_for_refresh: bool = True) -> None:
        """wait_for_refresh: `write` returns once the documents are searchable, not only durable. Readers of
        their own writes (tests, tools) want it; the live indexer does not: a bulk that waits for the next
        refresh caps one sink at a batch per refresh interval (200 documents a second with the defaults,
        docs/benchmarks.md, session 9), and the documents become searchable within that interval anyway."""
        self.backend = backend
        self.alias = alias
        self.max_backoff_s = max_backoff_s
        self.refresh = "wait_for" if wait_for_refresh else None
        self._older: list[str] | None = None
        self._older_at = 0.0

    async def write(self, documents: list[dict[str, Any]]) -> WriteResult:
        pending: dict[str, dict[str, Any]] = {}
        for doc in documents:  # the same id twice in a batch: keep the newest version
            if doc["id"] not in pending or doc.get("version", 0) >= pending[doc["id"]].get("version", 0):
                pending[doc["id"]] = doc
        result = WriteResult()
        attempt = 0
        while pending:
            try:
                pending = await self._attempt(pending, result)
            except _Unavailable as exc:
                log.warning("search backend unavailable (%s); %d documents wait, retrying", exc, len(pending))
            if pending:
                attempt += 1
                await asyncio.sleep(min(self.max_backoff_s, 0.5 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1))
        return result

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except SearchUnavailable as exc:
            raise _Unavailable(str(exc)) from exc
        except SearchRequestError as exc:
            if exc.status in RETRYABLE_STATUS:  # 404: the alias is not there (yet): wait for it
                raise _Unavailable(f"HTTP {exc.status}") from exc
            raise

    async def _older_indices(self) -> list[str]:
        """Indices behind the read alias other than the write index (cached briefly: a rollover changes them)."""
        now = time.monotonic()
        if self._older is None or now - self._older_at > LAYOUT_TTL_S:
            readable = await self._call(self.backend.get_alias, self.alias)
            writer = write_alias(self.alias)
            holders = await self._call(self.backend.get_alias, writer)
            # after a rollover the write alias still lists the old index, with is_write_index false
            writable = {name for name, info in holders.items()
                        if len(holders) == 1 or info["aliases"][writer].get("is_write_index")}
            self._older, self._older_at = sorted(set(readable) - writable), now
        return self._older

    def forget_layout(self) -> None:
        """Call after a rollover so the next batch looks the ids up in the index that just stopped taking writes."""
        self._older = None

    async def _existing(self, ids: list[str]) -> dict[str, tuple[str, int]]:
        """{id: (index, version)} of the documents already in an older index behind the read alias.

        Within the write index, external versioning alone keeps the newest version; only indices rolled over
        need a look-up (a search by ids).
        """
        older = await self._older_indices()
        if not older:
            return {}
        response = await self._call(self.backend.search, ",".join(older),
                                    {"query": {"ids": {"values": ids}}, "size": len(ids), "_source": False,
                                     "version": True})
        return {hit["_id"]: (hit["_index"], int(hit.get("_version", 0))) for hit in response["hits"]["hits"]}

    async def _attempt(self, pending: dict[str, dict[str, Any]], result: WriteResult) -> dict[str, dict[str, Any]]:
        existing = await self._existing(list(pending))
        operations: list[dict[str, Any]] = []
        for doc_id, doc in pending.items():
            version = int(doc.get("version", 0))
            action: dict[str, Any] = {"_id": doc_id, "version": version, "version_type": "external_gte"}
            if doc_id in existing:
                index, indexed_version = existing[doc_id]
                if indexed_version > version:
                    result.stale += 1
                    continue
                action["_index"] = index
            else:
                action.update(_index=write_alias(self.alias), require_alias=True)
            operations += [{"index": action}, doc]
        if not operations:
            return {}
        response = await self._call(self.backend.bulk, operations, refresh=self.refresh)
        retry: dict[str, dict[str, Any]] = {}
        for item in response["items"]:
            outcome = item["index"]
            status = int(outcome.get("status", 500))
            doc_id = outcome.get("_id")
            if status < 300:
                result.written += 1
            elif status == 409:  # a newer version arrived between our look-up and the write
                result.stale += 1
            elif status in RETRYABLE_STATUS:
                retry[doc_id] = pending[doc_id]
            else:
                error = outcome.get("error", {})
                reason = f"{error.get('type', 'error')}: {error.get('reason', error)}"
                result.rejected.append(Rejected(doc_id, status, reason))
        return retry
