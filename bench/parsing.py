"""Feed parsing throughput: newsdesk's parse_feed against plain feedparser.parse on the same bytes.

    .venv/bin/python bench/parsing.py            # or .venv/bin/python bench/parsing.py
    .venv/bin/python bench/parsing.py --items 100 --repeat 7

1. Generates (seeded, deterministic) a realistic RSS 2.0 feed of --items items, each with a ~300-character
   <description> and a full <content:encoded> article of ~3-5 KB HTML: paragraphs, inline markup, links with
   relative and absolute URLs, images with relative src, a figure, a blockquote, named and numeric character
   references, an inline <script>/<iframe>/style attribute that cleaning must remove, an enclosure,
   categories and dc:creator. The Atom 1.0 variant carries the same items (content type="html", escaped).
2. For each variant, times newsdesk's `parse_feed` (the lxml fast path these plain UTF-8 feeds take, then one
   nh3 cleaning pass + URL resolution + plain text per entry, Article records built), the same forced through
   feedparser with its sanitiser and URI resolution off (`fast=False`, what other feeds cost), and plain
   `feedparser.parse(bytes)` with its defaults (sanitising and URI resolution on), interleaved, --repeat times
   each after a warm-up; reports the medians (wall clock and process CPU time) and the best run as items/s,
   and the ratio. It first checks that the fast path and the feedparser path give identical articles.
   Also times the poller's check for a re-fetched body identical to the last one (`body_digest`, used instead
   of parsing when a server sends neither ETag nor Last-Modified) against parse_feed on the same bytes.
3. Prints a block to paste into docs/benchmarks.md.

One process, one thread: the figures are "items per second on one core". The machine is shared: run
nothing heavy meanwhile. Results belong in docs/benchmarks.md, never in timed test assertions.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser  # noqa: E402

from connectors.rss.parse import parse_feed  # noqa: E402
from connectors.rss.poller import body_digest  # noqa: E402

SITE = "https://news.example.com"
WORDS = (
    "government minister parliament election economy market growth inflation report city council police "
    "court judge hospital school university research climate energy water harbour port border agreement "
    "talks summit president prime company shares bank interest rates budget tax reform strike union workers "
    "football match season coach players festival museum exhibition film music storm flood rescue villagers "
    "officials said on Tuesday according to statement spokesperson confirmed the new plan would be announced "
    "next week after months of negotiations between the two sides while critics warned of delays"
).split()
NAMES = ["Maria Rossi", "James O'Neill", "Élodie Martin", "Rahul Mehta", "Sophie Müller", "Kwame Mensah",
         "Ingrid Nilsson", "Carlos Pérez", "Mei Tanaka", "Omar Haddad"]
SECTIONS = ["World", "Politics", "Business", "Science", "Sport", "Culture", "Local"]
ENTITIES = ["&amp;", "&nbsp;", "&#8217;", "&eacute;", "&#x2014;", "&quot;", "&hellip;", "&copy;"]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(9, 22))]
    words[0] = words[0].capitalize()
    if rng.random() < 0.3:
        words.insert(rng.randint(1, len(words) - 1), rng.choice(NAMES))
    if rng.random() < 0.25:
        words.insert(rng.randint(1, len(words) - 1), rng.choice(ENTITIES))
    return " ".join(words) + "."


def _paragraph(rng: random.Random, index: int) -> str:
    sentences = [_sentence(rng) for _ in range(rng.randint(3, 5))]
    roll = rng.random()
    if roll < 0.3:
        sentences[1] = (f'<a href="/{rng.choice(SECTIONS).lower()}/2024/05/{rng.randint(1, 28):02d}/'
                        f'story-{rng.randint(1000, 9999)}?utm_source=rss">{sentences[1]}</a>')
    elif roll < 0.45:
        sentences[1] = f'<a href="https://other.example.org/ref/{index}" target="_blank">{sentences[1]}</a>'
    elif roll < 0.6:
        sentences[0] = f"<strong>{sentences[0]}</strong>"
    elif roll < 0.7:
        sentences[2] = f'<em class="quote" style="color:red">{sentences[2]}</em>'
    return "<p>" + " ".join(sentences) + "</p>"


def _article_html(rng: random.Random, n: int) -> str:
    target = rng.randint(3000, 5000)
    parts: list[str] = []
    size = 0
    index = 0
    while size < target:
        if index == 1:
            block = (f'<figure><img src="../../images/{n}/photo-{index}.jpg" alt="Photo {index}" width="640" '
                     f'height="360" onerror="track()"><figcaption>{_sentence(rng)}</figcaption></figure>')
        elif index == 3 and n % 3 == 0:
            block = f"<blockquote><p>{_sentence(rng)}</p></blockquote>"
        elif index == 4 and n % 4 == 0:
            block = "<ul>" + "".join(f"<li>{_sentence(rng)}</li>" for _ in range(3)) + "</ul>"
        elif index == 5 and n % 5 == 0:
            block = ('<script type="text/javascript">window.ads && ads.push({slot: "mid"});</script>'
                     '<iframe src="https://ads.example.net/frame" width="300" height="250"></iframe>')
        elif index == 6 and n % 2 == 0:
            block = f'<h2>{_sentence(rng)[:40]}</h2>'
        else:
            block = _paragraph(rng, index)
        parts.append(block)
        size += len(block)
        index += 1
    parts.append(f'<img src="/pixel.gif?id={n}" width="1" height="1">')
    return "\n".join(parts)


def _items(n_items: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    start = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
    items = []
    for n in range(n_items):
        section = rng.choice(SECTIONS)
        slug = "-".join(rng.choice(WORDS) for _ in range(5))
        items.append({
            "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))).capitalize()
                     + (" &amp; more" if n % 7 == 0 else ""),
            "link": f"{SITE}/{section.lower()}/2024/05/14/{slug}-{n}?utm_source=rss&utm_medium=feed",
            "guid": f"{SITE}/?p={100000 + n}",
            "summary": " ".join(_sentence(rng) for _ in range(2))[:300],
            "html": _article_html(rng, n),
            "date": start - timedelta(minutes=17 * n),
            "author": rng.choice(NAMES),
            "categories": [section] + ([rng.choice(SECTIONS)] if n % 3 == 0 else []),
            "enclosure": (f"{SITE}/images/{n}/lead.jpg", "image/jpeg", 40000 + 17 * n),
        })
    return items


def make_rss(n_items: int = 100, seed: int = 3) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
           'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">',
           "<channel>", "<title>Example News - All stories</title>", f"<link>{SITE}/</link>",
           "<description>Latest stories from Example News</description>", "<language>en-GB</language>",
           f'<atom:link href="{SITE}/feed/" rel="self" type="application/rss+xml"/>',
           "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
           "<ttl>15</ttl>"]
    for item in _items(n_items, seed):
        url, mime, length = item["enclosure"]
        out += ["<item>", f"<title>{item['title']}</title>", f"<link>{escape(item['link'])}</link>",
                f'<guid isPermaLink="false">{item["guid"]}</guid>',
                f"<pubDate>{format_datetime(item['date'])}</pubDate>",
                f"<dc:creator><![CDATA[{item['author']}]]></dc:creator>",
                *(f"<category><![CDATA[{c}]]></category>" for c in item["categories"]),
                f"<description><![CDATA[{item['summary']}]]></description>",
                f"<content:encoded><![CDATA[{item['html']}]]></content:encoded>",
                f'<enclosure url="{url}" type="{mime}" length="{length}"/>', "</item>"]
    out += ["</channel>", "</rss>"]
    return "\n".join(out).encode()


def make_atom(n_items: int = 100, seed: int = 3) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
           "<title>Example News - All stories</title>", f'<link href="{SITE}/" rel="alternate"/>',
           f'<link href="{SITE}/feed.atom" rel="self"/>', f"<id>{SITE}/feed.atom</id>",
           "<updated>2024-05-14T12:00:00Z</updated>"]
    for item in _items(n_items, seed):
        url, mime, length = item["enclosure"]
        out += ["<entry>", f'<title type="html">{escape(item["title"])}</title>',
                f'<link rel="alternate" href="{escape(item["link"])}"/>',
                f'<link rel="enclosure" href="{url}" type="{mime}" length="{length}"/>',
                f"<id>{escape(item['guid'])}</id>",
                f"<published>{item['date'].isoformat()}</published>",
                f"<updated>{item['date'].isoformat()}</updated>",
                f"<author><name>{escape(item['author'])}</name></author>",
                *(f'<category term="{c}"/>' for c in item["categories"]),
                f'<summary type="html">{escape(item["summary"])}</summary>',
                f'<content type="html">{escape(item["html"])}</content>', "</entry>"]
    out.append("</feed>")
    return "\n".join(out).encode()


def _once(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call. The cyclic GC is emptied first, untimed:
    otherwise the collections triggered by the previous contender's garbage (feedparser leaves the most)
    are charged to whichever parser runs next. Each call still pays for the collections it causes itself."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    variants = {"RSS 2.0 (content:encoded)": make_rss(args.items),
                "Atom 1.0 (content type=html)": make_atom(args.items)}
    feed_url = f"{SITE}/feed/"
    rows = []
    for name, data in variants.items():
        ours = parse_feed(data, feed_url=feed_url)
        plain = feedparser.parse(data)
        assert ours.parser == "lxml", ours.parser
        assert len(ours.articles) == len(plain.entries) == args.items, (len(ours.articles), len(plain.entries))
        html_sizes = [len(a.content_html) for a in ours.articles]
        forced = parse_feed(data, feed_url=feed_url, fast=False)  # the feedparser path of parse_feed
        assert [a.model_dump(exclude={"fetched_at", "version"}) for a in forced.articles] == \
               [a.model_dump(exclude={"fetched_at", "version"}) for a in ours.articles]
        times: dict[str, list[tuple[float, float]]] = {"ours": [], "fallback": [], "plain": [], "digest": []}
        for _ in range(args.repeat):  # interleaved, so that drift on the shared machine hits all alike
            times["ours"].append(_once(lambda d=data: parse_feed(d, feed_url=feed_url)))
            times["digest"].append(_once(lambda d=data: body_digest(d)))
            times["fallback"].append(_once(lambda d=data: parse_feed(d, feed_url=feed_url, fast=False)))
            times["plain"].append(_once(lambda d=data: feedparser.parse(d)))
        rates = {k: (args.items / statistics.median(w for w, _ in v), args.items / statistics.median(c for _, c in v),
                     args.items / min(w for w, _ in v)) for k, v in times.items()}
        rows.append((name, len(data), statistics.median(html_sizes), rates))

    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}; load average {os.getloadavg()[0]:.2f}; "
          f"Python {platform.python_version()}, feedparser {feedparser.__version__}")
    print(f"command: python bench/parsing.py --items {args.items} --repeat {args.repeat}")
    print("items/s = items / median time of one call: wall clock, then [CPU time of the process], then (best run)")
    print()
    print("| feed | bytes | cleaned HTML/item (median) | parse_feed (fast path) items/s | parse_feed, feedparser path "
          "items/s | plain feedparser.parse items/s | fast path vs plain (median wall) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, size, html_size, rates in rows:
        cells = " | ".join(f"{rates[k][0]:,.0f} [{rates[k][1]:,.0f}] ({rates[k][2]:,.0f})"
                           for k in ("ours", "fallback", "plain"))
        print(f"| {name}, {args.items} items | {size:,} | {html_size:,.0f} B | {cells} | "
              f"{rates['ours'][0] / rates['plain'][0]:.1f}x |")
    print("\nA re-fetched body identical to the last one processed (a server without validators): the poller's")
    print("body_digest instead of parse_feed + triage, median of the same interleaved runs:")
    for name, _, _, rates in rows:
        print(f"  {name}: body_digest {1000 * args.items / rates['digest'][0]:.2f} ms, parse_feed "
              f"{1000 * args.items / rates['ours'][0]:.1f} ms ({rates['digest'][0] / rates['ours'][0]:.0f}x cheaper)")
    print(f"\nload average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
