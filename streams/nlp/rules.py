"""Entity rules kept in data: a gazetteer of well-known names and name shapes ("Kent County Council", "Bank of
England", "Call Lane"), applied after the statistical model and before propagation.

Why: small models miss or mistype frequent news organisations (parties as NORP, clubs as places, councils and
police forces as places). A list and a few shapes fix those cheaply, and because they live in
streams/nlp/data/*.jsonl they can grow without code changes. Rules only match whole tokens.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from streams.nlp.normalise import Mention, clean_surface

Token = tuple[int, int]  # character offsets [start, end) of one token of the text
_WORD = re.compile(r"[\w'’-]+")
_WORD_RUN = re.compile(r"\w+")
_TOKENISH = re.compile(r"\w+|[^\w\s]")  # splits at least as finely as spaCy: an upper bound on token counts


@dataclass
class RuleSet:
    """The rules of one language; see streams/nlp/data/gazetteer.jsonl and entity_rules.jsonl."""

    names: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # surface -> (type, context)
    reach: dict[str, int] = field(default_factory=dict)  # a name's first word -> most tokens a name can span
    heads: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # head word -> (type, context)
    connectors: set[str] = field(default_factory=set)
    between: int = 0  # lowercase words allowed between a head and its connector ("tribunal correctionnel de")
    skip: set[str] = field(default_factory=set)
    stop: set[str] = field(default_factory=set)
    contexts: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)  # name -> (min cues, cues)


def _lines(resource: str) -> list[dict]:
    text = resources.files("streams.nlp").joinpath("data", resource).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@cache
def rules_for(language: str) -> RuleSet:
    rules = RuleSet()
    for entry in _lines("gazetteer.jsonl"):
        if entry.get("lang", "*") in ("*", language):
            value = (entry["type"], entry.get("context"))
            for name in (entry["pattern"], entry["pattern"].upper()):  # headlines shout
                rules.names.setdefault(name, value)
                first = _first_word(name)
                rules.reach[first] = max(rules.reach.get(first, 0), len(_TOKENISH.findall(name)))
    for entry in _lines("entity_rules.jsonl"):
        if entry.get("lang", "*") not in ("*", language):
            continue
        kind, words = entry["kind"], entry["words"]
        if kind == "head":
            rules.heads.update({w: (entry["type"], entry.get("context")) for w in words})
        elif kind == "connectors":
            rules.connectors.update(words)
            rules.skip.update(entry.get("skip", []))
            rules.between = entry.get("between", 0)
        elif kind == "stop":
            rules.stop.update(words)
        elif kind == "context":
            rules.contexts[entry["name"]] = (entry.get("min", 1), frozenset(w.casefold() for w in words))
    return rules


def _active_contexts(text: str, rules: RuleSet) -> set[str]:
    words = {w.casefold() for w in _WORD.findall(text)}
    return {name for name, (minimum, cues) in rules.contexts.items() if len(cues & words) >= minimum}


@lru_cache(maxsize=4096)  # once per token text within a batch; small, so a long run stays flat
def _first_word(text: str) -> str:
    match = _WORD_RUN.match(text)
    return match.group() if match else text[:1]


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and any(c.isalpha() for c in word)


def _gazetteer(text: str, tokens: Sequence[Token], rules: RuleSet, contexts: set[str]) -> list[Mention]:
    found, i = [], 0
    while i < len(tokens):
        longest = rules.reach.get(_first_word(text[tokens[i][0]:tokens[i][1]]), 0)
        for n in range(min(longest, len(tokens) - i), 0, -1):  # longest match first
            surface = text[tokens[i][0]:tokens[i + n - 1][1]]
            hit = rules.names.get(surface) or rules.names.get(" ".join(surface.split()))
            if hit and (hit[1] is None or hit[1] in contexts):
                found.append(Mention(surface, hit[0], tokens[i][0], source="rule"))
                i += n - 1
                break
        i += 1
    return found


def _shapes(text: str, tokens: Sequence[Token], rules: RuleSet, contexts: set[str]) -> list[Mention]:
    """[Capitalised]* Head [lowercase]{0,between} [(of|for) [the] Capitalised+]: at least two tokens, never
    across a line break."""
    words = [text[s:e] for s, e in tokens]

    def joined(a: int, b: int) -> bool:  # tokens a and b (a < b) are on the same line
        return "\n" not in text[tokens[a][1]:tokens[b][0]]

    candidates = []
    for h, word in enumerate(words):
        head = rules.heads.get(word)
        if head is None or (head[1] is not None and head[1] not in contexts):
            continue
        first = h
        while (first > 0 and joined(first - 1, first) and _capitalised(words[first - 1])
               and words[first - 1] not in rules.stop):
            first -= 1
        while first > 0 and words[first - 1] in ("'", "’", "'s", "’s") and first - 2 >= 0 \
                and _capitalised(words[first - 2]) and words[first - 2] not in rules.stop:
            first -= 2  # "Leeds Magistrates' Court"
            while first > 0 and _capitalised(words[first - 1]) and words[first - 1] not in rules.stop:
                first -= 1
        last, c = h, h + 1
        while c < len(words) and c - h - 1 < rules.between and words[c].isalpha() and words[c].islower() \
                and words[c] not in rules.connectors:
            c += 1
        if c < len(words) and words[c] in rules.connectors:
            k = c + 1
            if k < len(words) and words[k] in rules.skip:
                k += 1
            end = k
            while end < len(words) and joined(end - 1, end) and words[end] not in rules.stop and (
                    _capitalised(words[end]) or (end > k and words[end] in ("and", "&") and end + 1 < len(words)
                                                 and _capitalised(words[end + 1]))):
                end += 1  # "National Institute for Health and Care Excellence"
            if end > k:
                last = end - 1
        if last > first:
            candidates.append((first, last, head[0]))
    chosen: list[tuple[int, int, str]] = []
    for first, last, etype in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):  # longest first
        if all(last < a or first > b for a, b, _ in chosen):
            chosen.append((first, last, etype))
    return [Mention(text[tokens[a][0]:tokens[b][1]], etype, tokens[a][0], source="rule") for a, b, etype in chosen]


def _longer_name(model: Mention, match: Mention) -> bool:
    """The model's mention holds the match and more capitalised words ("BBC Radio 4", not "Chelsea 2-1")."""
    if not (model.start <= match.start and match.end <= model.end):
        return False
    rest = model.text[:match.start - model.start] + " " + model.text[match.end - model.start:]
    return any(_capitalised(w) for w in clean_surface(rest).split() if w.lower() != "the")


def apply(language: str, text: str, tokens: Sequence[Token], mentions: list[Mention]) -> list[Mention]:
    """The model's mentions with rule matches added; a rule match replaces the model mentions it overlaps,
    except a gazetteer name inside a longer model mention ("BBC" in "BBC Radio 4")."""
    rules = rules_for(language)
    if not rules.names and not rules.heads:
        return mentions
    contexts = _active_contexts(text, rules)
    result = sorted(mentions, key=lambda m: m.start)
    for kind, matches in (("gazetteer", _gazetteer(text, tokens, rules, contexts)),
                          ("shape", _shapes(text, tokens, rules, contexts))):
        for match in matches:
            # Mentions never overlap, so those overlapping the match are contiguous, just before `after`.
            after = bisect_left([m.start for m in result], match.end)
            first = after
            while first > 0 and result[first - 1].end > match.start:
                first -= 1
            overlapping = result[first:after]
            if any(m.source == "rule" for m in overlapping):
                continue  # the gazetteer wins over shapes
            if kind == "gazetteer" and any(_longer_name(m, match) for m in overlapping):
                continue
            result[first:after] = [match]
    return result
