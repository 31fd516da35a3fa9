"""Names whose type is written in the name itself, retyped when the model read them otherwise.

Why: after the people (streams/nlp/person_names.py), the commonest confusions on real text
(tests/fixtures/ner-real/, Italian PUD above all) are names the model has never seen, typed by guesswork although
the name says what it is:

- a known place typed as a person or an organisation ("Alaska" PER, "Slovacchia" ORG, "Brisbane" PER): a place
  of data/place_names.json becomes LOC. Countries, regions, US states and continents are retyped from either;
  cities only from a person, because a club or a council is often named by its city ("la Virtus ha battuto
  Trento" is an ORG, rightly). A place that is also a given name or a surname (Austin, Jordan) stays a person
  where the model read one;
- a name of two or more words whose head word is an institution or a geographic feature ("Harvard Business
  School" PER, "Royal Navy" LOC, "Monte Kenya" ORG): data/name_heads.json says ORG or LOC from its first or last
  word. The head words are English and Italian alike, since Italian news names foreign institutions in English.
  They give way to a known place ("West Bank") and to a person the name lists recognise ("Michael Bay",
  "Veronica Lake": a listed given name, then capitalised words).
- a name of an event, an agreement or law, a prize or competition, or a period ("Battaglia di Marengo" LOC,
  "Treaty of Nanking" ORG, "Australian Open" LOC, "Bronze Age" PER), by the same head words, and the one-word
  names of religions, periods and feasts ("Islam" LOC, "Rinascimento" ORG, "Brexit" PER): MISC. Both English
  and Italian PUD gold leave these out, and the model's PER/ORG/LOC on them was a false positive each time;
- an all-caps initialism read as a person or a place ("GCHQ" PER, "IAG", "IRENA", "AKP" LOC): ORG, unless it is
  the initialism of a place (name_heads.json "place_initialisms": USA, UK, URSS...). People are not written as
  initialisms in running text, and places rarely are beyond that list; organisations constantly are.

A known place the model cut in two ("Papua" + "Nuova Guinea" for "Papua Nuova Guinea") is joined again
(join_places).

What the rules or the gazetteer typed (source "rule") and MISC are left alone: a competition or a law named after
a place ("Premier League", "Trattato di Roma") is neither.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from streams.nlp import person_names, regnal_names
from streams.nlp.normalise import LABELS, Mention


@dataclass(frozen=True)
class Heads:
    first: dict[str, str]  # casefolded first word -> type
    last: dict[str, str]  # casefolded last word -> type
    whole: frozenset[str]  # casefolded one-word names of MISC (religions, periods, feasts)
    place_initialisms: frozenset[str]  # casefolded: USA, UK, URSS...


@cache
def _data(name: str) -> dict:
    return json.loads(resources.files("streams.nlp").joinpath("data", name).read_text("utf-8"))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Places:
    regions: frozenset[str]  # retyped from PER or ORG
    cities: frozenset[str]  # retyped from PER only
    people: frozenset[str]  # regions that are also people's names: not retyped from PER


@cache
def places() -> Places:
    """The lists of data/place_names.json (casefolded), built by streams/nlp/word_lists.py."""
    raw = _data("place_names.json")
    return Places(frozenset(raw["regions"]), frozenset(raw["cities"]), frozenset(raw["people"]))


_HEAD_TYPES = ("ORG", "MISC", "LOC")  # which wins when both ends say something


@cache
def heads() -> Heads:
    raw = _data("name_heads.json")
    return Heads({w: etype for etype in _HEAD_TYPES for w in raw[etype]["first"]},
                 {w: etype for etype in _HEAD_TYPES for w in raw[etype]["last"]},
                 frozenset(raw["MISC"]["whole"]), frozenset(raw["place_initialisms"]["words"]))


_INITIALISM = re.compile(r"[A-Z][A-Z&]{1,5}")  # ASCII capitals: GCHQ, AT&T; not NATO's lowercase forms


def _initialism_type(label: str, text: str) -> str | None:
    if label not in ("PER", "LOC") or not _INITIALISM.fullmatch(text) or regnal_names.is_numeral(text):
        return None
    key = text.casefold()
    if key in heads().place_initialisms or key in places().regions or key in places().cities:
        return None
    return "ORG"


def _head_type(words: list[str], listed: Heads) -> str | None:
    """ORG before MISC before LOC: "Lake County Council" is a council, "Ministry of War" a ministry, "Gulf War"
    a war."""
    first, last = words[0].casefold(), words[-1].casefold().rstrip(".,")
    found = {listed.first.get(first), listed.last.get(last)} - {None}
    return next((etype for etype in _HEAD_TYPES if etype in found), None)


def retyped(label: str, text: str) -> str | None:
    """The type `text` says it has, if the model's `label` (in our vocabulary) contradicts it; else None."""
    known, key = places(), text.casefold()
    if key in heads().whole:
        return "MISC" if label in ("PER", "ORG", "LOC") else None
    if key in known.regions or key in known.cities:  # a known place: the head words do not apply to it
        if (label == "ORG" and key in known.regions) or (label == "PER" and not person_names.is_person(text) and (
                key in known.cities or (key in known.regions and key not in known.people))):
            return "LOC"
        return None
    words = text.split()
    if label in ("PER", "ORG", "LOC") and len(words) >= 2:
        said = _head_type(words, heads())
        if said is not None and said != label and not (label == "PER" and person_names.is_person(text)):
            return said
    return None


def apply(mentions: list[Mention]) -> list[Mention]:
    """The mentions, with names that say their type retyped (offsets and surfaces unchanged)."""
    out = []
    for mention in mentions:
        label = LABELS.get(mention.label)
        if label is not None and mention.source != "rule":
            new = _initialism_type(label, mention.text) if mention.text.isupper() else retyped(label, mention.text)
            if new is not None:
                mention = Mention(mention.text, new, mention.start, mention.source)
        out.append(mention)
    return out


_NAMES = ("PER", "ORG", "LOC")


def join_places(text: str, mentions: list[Mention]) -> list[Mention]:
    """Two mentions one space apart whose words together are a known place, as that one place (LOC)."""
    known = places()
    out: list[Mention] = []
    for mention in sorted(mentions, key=lambda m: m.start):
        if out and LABELS.get(out[-1].label) in _NAMES and LABELS.get(mention.label) in _NAMES:
            before = out[-1]
            gap = text[before.start + len(before.text):mention.start]
            joined = f"{before.text} {mention.text}"
            if gap == " " and (joined.casefold() in known.regions or joined.casefold() in known.cities):
                out[-1] = Mention(joined, "LOC", before.start, before.source)
                continue
        out.append(mention)
    return out
