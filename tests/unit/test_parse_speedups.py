"""The parser's shortcuts give exactly what the general code they bypass gives (bench/parsing.py shows why
they exist). Each test generates many near-miss inputs around the shortcut's shape, seeded."""

import random
import sys
from html import unescape

from feedparser.datetimes import _parse_date

from connectors.rss.canonical import _SIMPLE_URL, _canonical_url_urllib, canonical_url
from connectors.rss.dates import _RFC822, _W3DTF, parse_date
from connectors.rss.html import _ANY_TAG_RE, _BLOCK_TAG_RE, _RARE_SPACE, text_from_clean_html


def _digits(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789") for _ in range(n))


_MONTH_NAMES = ['Jan', 'Feb', 'may', 'OCT', 'Dec', 'Foo', 'Sept', '\u017fep']  # \u017f: folds to 's'


def _date(rnd: random.Random) -> str:
    if rnd.random() < 0.5:  # W3DTF-like
        value = (f"{rnd.choice([_digits(rnd, 4), '2024', '0001', '9999'])}-{rnd.choice(['05', '12', '13', '00'])}-"
                 f"{rnd.choice([_digits(rnd, 2), '29', '31', '00'])}{rnd.choice('Tt ')}"
                 f"{rnd.choice(['23', '24', _digits(rnd, 2)])}:{_digits(rnd, 2)}:"
                 f"{rnd.choice([_digits(rnd, 2), '60', '59.999', '59.9999999999999999', '00.5'])}")
        return value + rnd.choice(["Z", "z", "+00:00", "-05:00", "+05:30", "+0530", "+99:99", "", "+05"])
    day = rnd.choice(["Mon, ", "Tue, ", "thu, ", "SAT, ", "\u017fat, ", "Tuesday, ", "Xyz, ", "Mon ", ""])
    return (f"{day}{rnd.choice([_digits(rnd, 1), _digits(rnd, 2), '31', '0'])} "
            f"{rnd.choice(_MONTH_NAMES)} "
            f"{rnd.choice([_digits(rnd, 4), '2024', '0001', '9999', '24'])} "
            f"{rnd.choice(['23', '24', _digits(rnd, 2)])}:{_digits(rnd, 2)}:{rnd.choice([_digits(rnd, 2), '60'])} "
            f"{rnd.choice(['+0000', '-0500', '+0530', 'GMT', 'UT', 'Z', 'EST', '+05:30', '+9999', ''])}")


def test_parse_date_is_feedparsers_parse_date() -> None:
    rnd = random.Random(11)
    shortcut = 0
    for _ in range(20000):
        value = _date(rnd)
        assert parse_date(value) == _parse_date(value), value
        shortcut += bool(_W3DTF.fullmatch(value) or _RFC822.fullmatch(value))
    assert shortcut > 2000  # the generator does exercise the shortcut
    for value in ("", "   ", "2024-05-14", "Tue, 14 May 2024 12:00:00 +0000", "2024-05-14T12:00:00.5+02:00"):
        assert parse_date(value) == _parse_date(value), value


def _reference_text(cleaned: str) -> str:
    """text_from_clean_html before its paragraph shortcut: collapse all whitespace first."""
    if "<" not in cleaned and "&" not in cleaned:
        return " ".join(cleaned.split())
    text = _ANY_TAG_RE.sub("", _BLOCK_TAG_RE.sub("\x00", cleaned))
    text = unescape(text) if "&" in text else text
    return "\n\n".join(p for piece in " ".join(text.split()).split("\x00") if (p := piece.strip()))


def test_rare_space_list_is_every_whitespace_character_but_the_common_ones() -> None:
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert spaces == set(_RARE_SPACE) | set(" \t\n\r\xa0")


def test_text_from_clean_html_collapses_whitespace_as_before() -> None:
    rnd = random.Random(7)
    pieces = ["a", "é", "’", "\U0001f600", " ", "  ", "\n", "\r\n", "\t", "\xa0", "&nbsp;", "&amp;", "&lt;p&gt;",
              "&#8217;", "<p>", "</p>", "<br>", "<b>", "</b>", '<a href="x>y">', "<li>", "</div>", "\u200b",
              *_RARE_SPACE]
    for _ in range(30000):
        cleaned = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 20)))
        assert text_from_clean_html(cleaned) == _reference_text(cleaned), repr(cleaned)


def _url(rnd: random.Random) -> str:
    url = rnd.choice(["http", "https", "HTTPS", "http\u017f", "ftp", ""]) + rnd.choice(["://", "//", ":/"])
    url += rnd.choice(["example.com", "EXAMPLE.com.", "a", "", "...", "host:80", "host:8080", "u@h", "[::1]", "é.fr"])
    path_chars = list("abZ09/-._~!$&'()*+,;=:@ \t\"<>{}\\") + ["%2f", "%E9", "é", "/../", "/./", "#", "?"]
    if rnd.random() < 0.8:
        url += "/" + "".join(rnd.choice(path_chars) for _ in range(rnd.randint(0, 8)))
    if rnd.random() < 0.6:
        query = ["id=3", "utm_source=x", "UTM_Medium=y", "fbclid=1", "ref=", "k", "=v", "&", "+", "%20", "a b", ";"]
        url += "?" + "&".join(rnd.choice(query) for _ in range(rnd.randint(0, 4)))
    if rnd.random() < 0.3:
        url += "#" + "".join(rnd.choice(path_chars) for _ in range(rnd.randint(0, 4)))
    return rnd.choice(["", " "]) + url + rnd.choice(["", "\n"])


def test_canonical_url_shortcut_is_the_urllib_result() -> None:
    rnd = random.Random(5)
    shortcut = 0
    for _ in range(30000):
        url = _url(rnd)
        assert canonical_url(url) == _canonical_url_urllib(url), url
        shortcut += bool(_SIMPLE_URL.fullmatch(url.strip()))
    assert shortcut > 500


def test_html_to_text_without_markup_decodes_references_as_the_sanitiser_does() -> None:
    from connectors.rss.html import _TEXT_CLEANER, html_to_text

    rnd = random.Random(13)
    pieces = ["a", "é", " ", "\n", "\t", "\r", "\x00", "\x01", "&amp;", "&amp", "&ampx;", "&AMP;", "&notin;", "&notit;",
              "&not", "&nbsp;", "&nbsp", "&copy2024", "&eacute;", "&bogus;", "&;", "&", "&#8217;", "&#1;", "&#x80;",
              "&CounterClockwiseContourIntegral;", "&amp.x", ";", "#", "\ud800", "&" + "a" * 40]
    shortcut = 0
    for _ in range(20000):
        value = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12)))
        if "&" not in value:  # (unchanged shortcut)
            continue
        try:
            expected = text_from_clean_html(_TEXT_CLEANER.clean(value))
        except UnicodeEncodeError:  # nh3 refuses lone surrogates; so must the shortcut
            try:
                html_to_text(value)
            except UnicodeEncodeError:
                continue
            raise AssertionError(f"accepted {value!r}") from None
        assert html_to_text(value) == expected, repr(value)
        shortcut += "&" in value and "&#" not in value and "\x00" not in value and "\r" not in value
    assert shortcut > 1000
