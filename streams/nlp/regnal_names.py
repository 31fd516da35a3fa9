"""Rulers and popes named by a Roman numeral ("Ramsete II", "Paolo VI", "Tutmose III", "Mojmír I").

Why: on Italian PUD (tests/fixtures/ner-real/) the model cut the numeral off the person ("Paolo" for "Paolo VI",
"Mojmír" for "Mojmír I"), typed a one-word name and its numeral as a place or an organisation ("Tutmose III" LOC,
"Aminta" ORG), and read a numeral alone as a name ("XIV" ORG; "XXVIII" LOC in Europarl's "XXVIII relazione").
A numeral after a capitalised name is an ordinal of a ruler, a pope or an heir ("Price III"); a numeral alone is
no name at all. So:

- a mention that is only a numeral is dropped;
- a person followed by a numeral takes it in;
- a one-word organisation or place followed by a numeral, or made of one word and a numeral, is that person.

Only numerals up to XXXIX, written in capitals and followed by no capitalised word ("Disney I Muppet" is a
title, "Regio II Apulia" a region). English "I" is most often the pronoun ("In Pyongyang I did see"), so an
English name takes it in only when it is a person's and what follows cannot start the pronoun's clause ("Henry I
and", "Mojmír I (830-846)").
"""

from __future__ import annotations

import re

from streams.nlp.normalise import LABELS, Mention

_NUMERAL = r"X{0,3}(?:IX|IV|V?I{1,3}|V)|X{1,3}"  # I..XXXIX
_NUMERAL_ONLY = re.compile(_NUMERAL)
_AFTER = re.compile(rf" ({_NUMERAL})(?![\w'’])\W*")  # one space, the numeral, then what leads to the next word
_NAME_AND_NUMERAL = re.compile(rf"[^\W\d_][\w'’-]* ({_NUMERAL})")


# What may follow an English person's "I" for it to be a numeral ("Henry I and", "Mojmír I (830-846)"), not the
# pronoun ("In Pyongyang I did see"): punctuation, or a word that cannot start the pronoun's clause.
_AFTER_ENGLISH_I = re.compile(r" ?[^\w\s]| ?$| (?:and|of|with|in|on|at|who|whose|by|from|for)\b")


def is_numeral(text: str) -> bool:
    """A Roman numeral from I to XXXIX, in capitals: an ordinal, never a name on its own."""
    return _NUMERAL_ONLY.fullmatch(text) is not None


def _numeral_after(text: str, end: int, language: str, label: str) -> str | None:
    found = _AFTER.match(text, end)
    if found is None or text[found.end():found.end() + 1].isupper():
        return None
    if language == "en" and found.group(1) == "I" and not (label == "PER" and _AFTER_ENGLISH_I.match(text, end + 2)):
        return None
    return found.group(1)


def apply(language: str, text: str, mentions: list[Mention]) -> list[Mention]:
    """The mentions with numerals dropped or joined to the ruler they name (offsets into `text`)."""
    kept = []
    for mention in mentions:
        label = LABELS.get(mention.label)
        if mention.source == "rule" or label is None:
            kept.append(mention)
            continue
        if is_numeral(mention.text):
            continue
        one_word = " " not in mention.text and mention.text[:1].isupper()
        named = _NAME_AND_NUMERAL.fullmatch(mention.text)
        if named is not None and label in ("ORG", "LOC") and not (language == "en" and named.group(1) == "I"):
            mention = Mention(mention.text, "PER", mention.start, mention.source)
        elif label == "PER" or (one_word and label in ("ORG", "LOC")):
            numeral = _numeral_after(text, mention.start + len(mention.text), language, label)
            if numeral is not None:
                mention = Mention(f"{mention.text} {numeral}", "PER", mention.start, mention.source)
        kept.append(mention)
    return kept
