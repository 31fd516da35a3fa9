"""Keep a consumer's group membership when the embedded broker refuses an offset commit during a rebalance.

Kafka answers an OffsetCommit sent while its group is rebalancing with REBALANCE_IN_PROGRESS: the client rejoins
under the same member id. noida-db answers ILLEGAL_GENERATION instead, on which aiokafka forgets its member id and
joins as a new member. The old member stays in noida's group, and the group then never settles: every JoinGroup
waits the 60 s rebalance timeout for the old member and no member is made leader (seen here as a two-host test
that waited minutes for the partitions to be split, in 1 of 10 runs; every such run began with that commit error).
So, on the embedded broker only, an OffsetCommit's ILLEGAL_GENERATION is read as REBALANCE_IN_PROGRESS. The commit
still fails (Faust commits again after the rebalance; at-least-once holds), and a member id the broker no longer
knows is still refused at JoinGroup with UNKNOWN_MEMBER_ID, on which aiokafka starts afresh as before.
"""

from __future__ import annotations

import functools
from typing import Any

from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.errors import IllegalGenerationError, RebalanceInProgressError
from aiokafka.protocol.commit import OffsetCommitRequest

_ORIGINAL = GroupCoordinator._send_req


def as_rebalance_in_progress(topics: list[Any]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """An OffsetCommit response's (topic, [(partition, error_code), ...]) with ILLEGAL_GENERATION replaced."""
    return [(topic, [(partition, RebalanceInProgressError.errno if code == IllegalGenerationError.errno else code,
                      *rest) for partition, code, *rest in partitions])
            for topic, partitions in topics]


def install(enabled: bool) -> None:
    if not enabled or getattr(GroupCoordinator._send_req, "_newsdesk_commit_generation", False):
        return

    @functools.wraps(_ORIGINAL)
    async def send_req(self: GroupCoordinator, request: Any) -> Any:
        response = await _ORIGINAL(self, request)
        if isinstance(request, OffsetCommitRequest):
            response.topics = as_rebalance_in_progress(response.topics)
        return response

    send_req._newsdesk_commit_generation = True  # type: ignore[attr-defined]
    GroupCoordinator._send_req = send_req  # type: ignore[method-assign]
