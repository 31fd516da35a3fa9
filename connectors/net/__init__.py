"""Network pieces shared by connectors: the outgoing-address guard (SSRF) and an httpx transport that uses it."""
