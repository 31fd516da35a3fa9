"""Precision filters after the model and the rules: drop or trim mentions that are not names.

Why: measured on real text (tests/fixtures/ner-real/, streams/nlp/evaluate_real.py), the models' false positives
are mostly of four kinds, each fixed by a general rule driven by streams/nlp/data/precision.jsonl:

- titles and forms of address inside or instead of a person ("Signora Presidente", "Mrs Lynne", "Commissario
  Monti"): leading title words are cut from PER mentions; a mention of titles only is dropped. A title that only
  ever stands before a person (data kind `person_title`) also makes a person of a mention the model typed
  otherwise ("Presidente Prodi" ORG, "onorevole Wynn" LOC, "Mr Osborne" LOC become PER "Prodi", "Wynn",
  "Osborne"), and such titles alone ("Commissario" MISC, "Presidente" ORG) are dropped;
- person spans that swallow the end of the name before them ("Repubblica Popolare Cinese Xi Jinping" read as
  PER "Popolare Cinese Xi Jinping"): leading institution words and nationality adjectives are cut from PER;
- all-caps page furniture ("LIVE", "FOTO", "VIDEO", "LEGGI ANCHE") read as places or people: dropped when every
  word of the mention is furniture;
- a capitalised ordinary word at the start of a sentence ("Tuttavia", "Infine", "Naturalmente", "Devo",
  "Costituisce") read as a name: a one-word mention there is dropped when the word is a stop word of the language
  (spaCy's list), an Italian adverb in -mente, listed in the data, or a common word (data/common_words.txt: the
  lowercase words of the multilingual sentence encoder's vocabulary, places left out) that is not a listed
  person name, not a gazetteer match, and not written capitalised elsewhere in the article, mid-sentence
  ("Trump" is kept in an article that says "Donald Trump"); not for English (see _NO_COMMON_WORD_RULE);
- an institution span run on into the verb after it ("Commissione di elaborare", "Commissione di garantire"):
  cut before a preposition followed by an Italian infinitive;
- an era beside a year or a century ("500 BC", "the 5th century BCE", "AD 79", "79 d.C."): part of a date, which
  the project does not keep, though en_core_web_sm reads "BC" as an organisation (11 times in UNER English PUD).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

import spacy

from streams.nlp import person_names
from streams.nlp.normalise import LABELS, Mention

_TOKEN = re.compile(r"\S+")
_SENTENCE_END = frozenset(".!?:;\"“”«»\n")


@dataclass(frozen=True)
class Lists:
    titles: frozenset[str] = field(default_factory=frozenset)
    not_name: frozenset[str] = field(default_factory=frozenset)
    furniture: frozenset[str] = field(default_factory=frozenset)
    not_initial: frozenset[str] = field(default_factory=frozenset)
    person_titles: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def cut_from_person(self) -> frozenset[str]:
        """What a person mention may start with and lose: titles, institution words, nationality adjectives."""
        return self.titles | self.not_name


def _stop_words(language: str) -> frozenset[str]:
    try:
        return frozenset(spacy.util.get_lang_class(language).Defaults.stop_words)
    except Exception:  # a language spaCy does not know: no stop-word rule
        return frozenset()


@cache
def lists_for(language: str) -> Lists:
    text = resources.files("streams.nlp").joinpath("data", "precision.jsonl").read_text("utf-8")
    words: dict[str, set[str]] = {"title": set(), "not_name": set(), "furniture": set(), "not_initial": set(),
                                  "person_title": set()}
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            if entry.get("lang", "*") in ("*", language):
                words[entry["kind"]].update(w.casefold() for w in entry["words"])
    return Lists(frozenset(words["title"] | words["person_title"]), frozenset(words["not_name"]),
                 frozenset(words["furniture"]), frozenset(words["not_initial"]) | _stop_words(language),
                 frozenset(words["person_title"]))


def _key(word: str) -> str:
    return word.casefold().strip(".,;:'’\"()")


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"“«'‘(")
    return not before or before[-1] in _SENTENCE_END


@cache
def common_words() -> frozenset[str]:
    return frozenset(resources.files("streams.nlp").joinpath("data", "common_words.txt").read_text("utf-8").split())


# Languages whose sentence-initial mentions are not checked against common words: English brand names are common
# words (Amazon, Shell, Target), and en_core_web_sm seldom reads a sentence-initial verb as a name (the rule
# measured neutral to negative on Europarl-EN and UNER PUD-EN).
_NO_COMMON_WORD_RULE = frozenset({"en"})


def _not_initial(language: str, word: str, lists: Lists, text: str, named_by_rule: bool) -> bool:
    key = _key(word)
    if key in lists.not_initial or (language == "it" and key.endswith("mente") and len(key) > 7):
        return True
    return (language not in _NO_COMMON_WORD_RULE and not named_by_rule and key in common_words()
            and word not in person_names.names().any and not _capitalised_mid_sentence(text, word))


def _capitalised_mid_sentence(text: str, word: str) -> bool:
    """Whether `word` also occurs in `text` where a sentence does not start: written like a name by choice."""
    return any(not _sentence_initial(text, m.start())
               for m in re.finditer(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text))


# A preposition and an infinitive after an institution's name: where a run-on span must end.
_RUN_ON_VERB = re.compile(r"\s+(?:di|a|da|per)\s+[a-zà-ù]{2,}(?:are|ere|ire|arsi|ersi|irsi)\b")


def _cut_run_on(mention: Mention) -> Mention:
    hit = _RUN_ON_VERB.search(mention.text)
    if hit is None or hit.start() == 0:
        return mention
    return Mention(mention.text[:hit.start()], mention.label, mention.start, mention.source)


def _leading(tokens: list[re.Match[str]], words: frozenset[str]) -> int:
    """How many of the first tokens are in `words`."""
    count = 0
    while count < len(tokens) and _key(tokens[count].group()) in words:
        count += 1
    return count


def _cut_person(mention: Mention, lists: Lists) -> Mention | None:
    """A PER mention without leading titles, institution words and nationality adjectives; None if nothing
    of a name is left."""
    tokens = list(_TOKEN.finditer(mention.text))
    first = _leading(tokens, lists.cut_from_person)
    if first == len(tokens):
        return None
    if first == 0:
        return mention
    start = tokens[first].start()
    return Mention(mention.text[start:], mention.label, mention.start + start, mention.source)


# Lowercase words a name may hold between its capitalised words (Ursula von der Leyen, Loyola de Palacio).
_PARTICLES = frozenset({"de", "di", "da", "del", "della", "van", "von", "der", "den", "le", "la", "du", "dos", "das",
                        "el", "al", "bin", "ibn"})


# After a title these make it a title of somewhere ("Principe di Galles", "Duke of York"), not a person's name.
_OF = frozenset({"di", "of", "del", "della", "dello", "dei", "degli", "delle"})


def _titled_person(mention: Mention, lists: Lists) -> Mention | None:
    """A non-person mention that starts with a person-only title: the name after it as PER, the mention itself
    when no name follows in name shape ("Presidente della Repubblica"), or None when it is titles only."""
    tokens = list(_TOKEN.finditer(mention.text))
    first = _leading(tokens, lists.person_titles)
    if first == 0:
        return mention
    if first == len(tokens):
        return None
    rest = [t.group() for t in tokens[first:]]
    if not (rest[0] not in _OF and rest[-1][:1].isupper() and all(w[:1].isupper() or w in _PARTICLES for w in rest)
            and not any(_key(w) in lists.not_name for w in rest)):  # Presidente della Repubblica
        return mention
    start = tokens[first].start()
    return Mention(mention.text[start:], "PER", mention.start + start, mention.source)


_ERA = re.compile(r"B\.?C\.?(?:E\.?)?|A\.?D\.?|[ad]\.\s?C\.?")  # not CE: "Regolamento (CE) 1234" is a community
_ERA_BEFORE = re.compile(r"(?:\d|\b(?:century|centuries|millennium|secolo|secoli|millennio))\W{0,2}$", re.IGNORECASE)
_ERA_AFTER = re.compile(r"^\W{0,2}\d")


def _era(mention: Mention, text: str) -> bool:
    end = mention.start + len(mention.text)
    return bool(_ERA.fullmatch(mention.text) and (_ERA_BEFORE.search(text[max(0, mention.start - 20):mention.start])
                                                  or _ERA_AFTER.match(text[end:end + 4])))


def _furniture(mention: Mention, lists: Lists) -> bool:
    words = [_key(w) for w in _TOKEN.findall(mention.text)]
    return mention.text.isupper() and bool(words) and all(w in lists.furniture for w in words)


def apply(language: str, text: str, mentions: list[Mention]) -> list[Mention]:
    """The mentions without the non-names above (offsets into `text`, the document body)."""
    lists = lists_for(language)
    kept = []
    for mention in mentions:
        if _furniture(mention, lists) or _era(mention, text):
            continue
        words = _TOKEN.findall(mention.text)
        if (len(words) == 1 and not mention.text.isupper() and _sentence_initial(text, mention.start)
                and _not_initial(language, words[0], lists, text, mention.source == "rule")):
            continue
        if language == "it" and mention.source != "rule":
            mention = _cut_run_on(mention)
        if LABELS.get(mention.label) in ("ORG", "LOC", "MISC") and mention.source != "rule":
            titled = _titled_person(mention, lists)
            if titled is None:
                continue
            mention = titled
        if LABELS.get(mention.label) == "PER" and mention.source != "rule":
            cut = _cut_person(mention, lists)
            if cut is None:
                continue
            mention = cut
        kept.append(mention)
    return kept
