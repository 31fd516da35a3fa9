"""Bulk writer: documents go in under their article id, so a re-delivered article overwrites itself.

`write` returns only when Elasticsearch has acknowledged every document, or rejected some for good
(a mapping error, say): it retries connection loss, 429 and 5xx with capped exponential backoff and jitter
for as long as it takes. The caller commits its Kafka offsets after `write` returns, so a search backend
that is down loses nothing: the stream simply waits.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, ConnectionError, TransportError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class Rejected:
    id: str
    status: int
    reason: str


class ElasticsearchSink:
    def __init__(self, es: AsyncElasticsearch, alias: str, *, max_backoff_s: float = 30.0) -> None:
        self.es = es
        self.alias = alias
        self.max_backoff_s = max_backoff_s

    async def write(self, documents: list[dict[str, Any]]) -> list[Rejected]:
        pending = {doc["id"]: doc for doc in documents}  # a batch with the same id twice keeps the last
        rejected: list[Rejected] = []
        attempt = 0
        while pending:
            retry: dict[str, dict[str, Any]] = {}
            try:
                operations: list[dict[str, Any]] = []
                for doc_id, doc in pending.items():
                    operations += [{"index": {"_index": self.alias, "_id": doc_id}}, doc]
                response = await self.es.bulk(operations=operations, refresh="wait_for")
            except (ConnectionError, TransportError, ApiError) as exc:
                status = getattr(exc, "status_code", None) or getattr(getattr(exc, "meta", None), "status", None)
                if isinstance(exc, ApiError) and status not in RETRYABLE_STATUS:
                    raise
                log.warning("elasticsearch unavailable (%s); %d documents wait, retrying",
                            type(exc).__name__, len(pending))
                retry = pending
            else:
                for item in response["items"]:
                    result = item["index"]
                    status = int(result.get("status", 500))
                    if status < 300:
                        continue
                    doc_id = result.get("_id")
                    if status in RETRYABLE_STATUS:
                        retry[doc_id] = pending[doc_id]
                    else:
                        error = result.get("error", {})
                        reason = f"{error.get('type', 'error')}: {error.get('reason', error)}"
                        rejected.append(Rejected(doc_id, status, reason))
            pending = retry
            if pending:
                attempt += 1
                delay = min(self.max_backoff_s, 0.5 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
                await asyncio.sleep(delay)
        return rejected
