"""A short pause after an empty Kafka fetch, for the embedded broker only.

Kafka holds an empty Fetch for `fetch_max_wait_ms`; noida-db answers at once, so every idle aiokafka
consumer (Faust included) spins at ~0.9 core. Pausing in the fetcher after a fetch that brought nothing
gives the CPU back to the NLP workers. Real Kafka never needs this; it is applied only when embedded.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from aiokafka.consumer.fetcher import Fetcher

_ORIGINAL = Fetcher._proc_fetch_request


def install(pause_s: float) -> None:
    if pause_s <= 0 or getattr(Fetcher._proc_fetch_request, "_newsdesk_pause", None) == pause_s:
        return

    @functools.wraps(_ORIGINAL)
    async def proc_fetch_request(self: Fetcher, *args: Any, **kwargs: Any) -> bool:
        has_new_data = await _ORIGINAL(self, *args, **kwargs)
        if not has_new_data:
            try:
                await asyncio.sleep(pause_s)
            except asyncio.CancelledError:  # as the original does: a cancelled fetch simply has no data
                return False
        return bool(has_new_data)

    proc_fetch_request._newsdesk_pause = pause_s  # type: ignore[attr-defined]
    Fetcher._proc_fetch_request = proc_fetch_request  # type: ignore[method-assign]
