"""Precision filters after the model and the rules: drop or trim mentions that are not names.

Why: measured on real text (tests/fixtures/ner-real/, streams/nlp/evaluate_real.py), the models' false positives
are mostly of four kinds, each fixed by a general rule driven by streams/nlp/data/precision.jsonl:

- titles and forms of address inside or instead of a person ("Signora Presidente", "Mrs Lynne", "Commissario
  Monti"): leading title words are cut from PER mentions; a mention of titles only is dropped;
- person spans that swallow the end of the name before them ("Repubblica Popolare Cinese Xi Jinping" read as
  PER "Popolare Cinese Xi Jinping"): leading institution words and nationality adjectives are cut from PER;
- all-caps page furniture ("LIVE", "FOTO", "VIDEO", "LEGGI ANCHE") read as places or people: dropped when every
  word of the mention is furniture;
- a capitalised ordinary word at the start of a sentence ("Tuttavia", "Infine", "Naturalmente") read as a name:
  a one-word mention there is dropped when the word is a stop word of the language (spaCy's list), an Italian
  adverb in -mente, or listed in the data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import spacy

from streams.nlp.normalise import LABELS, Mention

_TOKEN = re.compile(r"\S+")
_SENTENCE_END = frozenset(".!?:;\"“”«»\n")


@dataclass(frozen=True)
class Lists:
    titles: frozenset[str] = field(default_factory=frozenset)
    not_name: frozenset[str] = field(default_factory=frozenset)
    furniture: frozenset[str] = field(default_factory=frozenset)
    not_initial: frozenset[str] = field(default_factory=frozenset)


def _stop_words(language: str) -> frozenset[str]:
    try:
        return frozenset(spacy.util.get_lang_class(language).Defaults.stop_words)
    except Exception:  # a language spaCy does not know: no stop-word rule
        return frozenset()


@cache
def lists_for(language: str) -> Lists:
    text = resources.files("streams.nlp").joinpath("data", "precision.jsonl").read_text("utf-8")
    words: dict[str, set[str]] = {"title": set(), "not_name": set(), "furniture": set(), "not_initial": set()}
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            if entry.get("lang", "*") in ("*", language):
                words[entry["kind"]].update(w.casefold() for w in entry["words"])
    return Lists(frozenset(words["title"]), frozenset(words["not_name"]), frozenset(words["furniture"]),
                 frozenset(words["not_initial"]) | _stop_words(language))


def _key(word: str) -> str:
    return word.casefold().strip(".,;:'’\"()")


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"“«'‘(")
    return not before or before[-1] in _SENTENCE_END


def _not_initial(language: str, word: str, lists: Lists) -> bool:
    key = _key(word)
    return key in lists.not_initial or (language == "it" and key.endswith("mente") and len(key) > 7)


def _cut_person(mention: Mention, lists: Lists) -> Mention | None:
    """A PER mention without leading titles, institution words and nationality adjectives; None if nothing
    of a name is left."""
    tokens = list(_TOKEN.finditer(mention.text))
    first = 0
    while first < len(tokens) and (_key(tokens[first].group()) in lists.titles
                                   or _key(tokens[first].group()) in lists.not_name):
        first += 1
    if first == len(tokens):
        return None
    if first == 0:
        return mention
    start = tokens[first].start()
    return Mention(mention.text[start:], mention.label, mention.start + start, mention.source)


def _furniture(mention: Mention, lists: Lists) -> bool:
    words = [_key(w) for w in _TOKEN.findall(mention.text)]
    return mention.text.isupper() and bool(words) and all(w in lists.furniture for w in words)


def apply(language: str, text: str, mentions: list[Mention]) -> list[Mention]:
    """The mentions without the non-names above (offsets into `text`, the document body)."""
    lists = lists_for(language)
    kept = []
    for mention in mentions:
        if _furniture(mention, lists):
            continue
        words = _TOKEN.findall(mention.text)
        if (len(words) == 1 and not mention.text.isupper() and _sentence_initial(text, mention.start)
                and _not_initial(language, words[0], lists)):
            continue
        if LABELS.get(mention.label) == "PER" and mention.source != "rule":
            cut = _cut_person(mention, lists)
            if cut is None:
                continue
            mention = cut
        kept.append(mention)
    return kept
