"""Canonical URLs and stable article ids: the same story reached through different links gets one id."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader; everything else may select content and is kept.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
        "_ga", "_gl", "ref", "ref_src", "ref_url", "cmpid", "cmp", "ito", "ns_mchannel", "ns_source",
        "ns_campaign", "ns_linkname", "ns_fee", "at_medium", "at_campaign", "at_custom1", "rss", "feed",
        "spm", "share", "s_cid", "icid", "xtor", "_hsenc", "_hsmi", "mkt_tok", "oly_enc_id", "oly_anon_id",
        "vero_id", "wt.mc_id", "wt_mc_id", "sr_share", "soc_src", "soc_trk",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_")
DEFAULT_PORTS = {"http": "80", "https": "443"}
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


# The common shape of an article link: http(s), a plain host name without port or user, printable ASCII,
# a query of name=value pairs that urlencode(parse_qsl(...)) gives back unchanged. canonical_url handles it
# with string operations, the same result at a third of the cost (tests/unit/test_parse_speedups.py
# compares); anything else goes through urllib.
_SIMPLE_URL = re.compile(
    r'(?i:(https?))://([A-Za-z0-9.-]+)(/[!-"$->@-~]*)?'  # scheme, host, path: printable ASCII but ? and #
    r"(?:\?((?:[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*)(?:&[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*)*)?)?(?:#.*)?",
    re.S | re.A)


def canonical_url(url: str) -> str | None:
    """Normalise an article URL; None when it is not an absolute http(s) URL.

    Lower-cases scheme and host, drops default ports, the fragment and tracking parameters, keeps the
    order of the remaining parameters (some sites care), and upper-cases percent-escapes.
    """
    simple = _SIMPLE_URL.fullmatch(url.strip())
    if simple:
        scheme, host, path, query = simple.groups()
        host = host.lower().rstrip(".")
        if host:
            if not path:
                path = "/"
            elif "%" in path:
                path = _PERCENT.sub(_upper, path)
            if query:
                query = "&".join(p for p in query.split("&") if not _is_tracking(p.partition("=")[0]))
            return f"{scheme.lower()}://{host}{path}?{query}" if query else f"{scheme.lower()}://{host}{path}"
    return _canonical_url_urllib(url)


def _upper(match: re.Match[str]) -> str:
    return match.group(0).upper()


def _canonical_url_urllib(url: str) -> str | None:
    """canonical_url for any URL, through urllib's parser."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        return None
    netloc = host if port is None or str(port) == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _PERCENT.sub(_upper, parts.path) or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def article_id(url: str | None, guid: str | None, fallback: str | None = None) -> str:
    """Stable id: the canonical URL when there is one, else the GUID, else the given fallback text."""
    canonical = canonical_url(url) if url else None
    if canonical:
        basis = f"url:{canonical}"
    elif guid and guid.strip():
        basis = f"guid:{guid.strip()}"
    elif fallback:
        basis = f"content:{fallback}"
    else:
        raise ValueError("an article needs a URL, a GUID or content to derive its id")
    return hashlib.sha256(basis.encode()).hexdigest()[:32]
