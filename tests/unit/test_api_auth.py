"""The API token's decisions, pure: which addresses count as loopback, when the API must refuse to start, which
Authorization headers pass, which paths stay open."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdesk.api import authorized, bind_error, is_loopback, needs_token, serve
from newsdesk.settings import Settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST", " 127.0.0.1 "])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.10", "10.0.0.1", "example.org", "localhost.evil.com",
                                  "127.0.0.1.nip.io", "::ffff:8.8.8.8"])
def test_other_addresses(host: str) -> None:
    assert not is_loopback(host)


def test_off_loopback_without_a_token_the_api_refuses_to_start() -> None:
    message = bind_error("0.0.0.0", None)
    assert message is not None and "NEWSDESK_API_TOKEN" in message and "\n" not in message
    assert bind_error("0.0.0.0", "") is not None  # an empty token is no token
    assert bind_error("", None) is not None and "every interface" in (bind_error("", None) or "")
    assert bind_error("0.0.0.0", "s3cret") is None
    assert bind_error("127.0.0.1", None) is None
    assert bind_error("::1", "s3cret") is None


def test_serve_exits_with_one_line_before_binding(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        serve(Settings(data_dir=tmp_path, api_host="0.0.0.0", api_token=None, api_port=1))
    assert str(refused.value).startswith("newsdesk api: refusing to serve the API on 0.0.0.0 without a token")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(("header", "ok"), [
    ("Bearer s3cret", True),
    ("bearer s3cret", True),  # the scheme is case-insensitive (RFC 7235)
    ("Bearer  s3cret ", True),
    ("Bearer s3cre", False),
    ("Bearer s3cret2", False),
    ("Bearer S3CRET", False),
    ("Basic s3cret", False),
    ("s3cret", False),
    ("Bearer", False),
    ("Bearer ", False),
    ("", False),
    (None, False),
    ("Bearer sécret", False),  # non-ASCII: compared as bytes, refused, no TypeError
    ("Bearer \udcff", False),  # a lone surrogate, as a header decoded with surrogateescape would carry
])
def test_the_bearer_token(header: str | None, ok: bool) -> None:
    assert authorized(header, "s3cret") is ok


def test_a_non_ascii_token_works_too() -> None:
    assert authorized("Bearer sécret", "sécret") and not authorized("Bearer secret", "sécret")


@pytest.mark.parametrize(("path", "token", "needed"), [
    ("/search", "t", True), ("/alerts", "t", True), ("/alerts/x/enable", "t", True), ("/health", "t", True),
    ("/articles/1", "t", True), ("/nowhere", "t", True),
    ("/health/live", "t", False), ("/health/ready", "t", False), ("/openapi.json", "t", False),
    ("/health/live/", "t", True),  # not the probe's exact path: no route there either, but no free pass
    ("/search", None, False), ("/search", "", False),
])
def test_which_paths_need_the_token(path: str, token: str | None, needed: bool) -> None:
    assert needs_token(path, token) is needed
