"""The feed fetcher's address guard; it lives in connectors/net/addresses.py, shared with the alert webhooks.

Re-exported here so that `connectors.rss.addresses` keeps its public names.
"""

from __future__ import annotations

from connectors.net.addresses import (
    BlockedAddressError,
    GuardedBackend,
    IPAddress,
    Resolver,
    address_problem,
    host_key,
    ip_literal,
    normalise_allowed_host,
    system_resolver,
)

__all__ = ["BlockedAddressError", "GuardedBackend", "IPAddress", "Resolver", "address_problem", "host_key",
           "ip_literal", "normalise_allowed_host", "system_resolver"]
