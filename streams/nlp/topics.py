"""IPTC Media Topics (17 top-level subjects) from multilingual keyword stems kept in data/iptc_topics.json.

A first, transparent tagger: counts word-start stem hits (title hits count double) and keeps the subjects
whose share of all hits is high enough, so an article can carry more than one topic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from streams.records import Topic

MODEL_NAME = "newsdesk:iptc-keywords-v1"
MIN_HITS = 2
MIN_SHARE = 0.25
MAX_TOPICS = 3


@dataclass(frozen=True)
class TopicRule:
    code: str
    name: str
    pattern: re.Pattern[str]


@cache
def rules() -> tuple[TopicRule, ...]:
    data = json.loads(resources.files("streams.nlp").joinpath("data", "iptc_topics.json").read_text("utf-8"))
    built = []
    for topic in data["topics"]:
        stems = sorted((re.escape(s) for s in topic["stems"]), key=len, reverse=True)
        built.append(TopicRule(topic["code"], topic["name"], re.compile(rf"\b(?:{'|'.join(stems)})\w*", re.I)))
    return tuple(built)


def tag(title: str, text: str) -> list[Topic]:
    hits = {rule: 2 * len(rule.pattern.findall(title)) + len(rule.pattern.findall(text)) for rule in rules()}
    total = sum(hits.values())
    if not total:
        return []
    ranked = sorted(((n, r) for r, n in hits.items() if n >= MIN_HITS), key=lambda item: -item[0])
    return [Topic(name=r.name, code=r.code, score=round(n / total, 3))
            for n, r in ranked[:MAX_TOPICS] if n / total >= MIN_SHARE or r is ranked[0][1]]
