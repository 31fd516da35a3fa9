"""Italian names of institutions that go on after "per": the model stops at "per" and keeps the first half.

Why: on Italian PUD (tests/fixtures/ner-real/) the model cut "Società Reale per la Protezione degli Uccelli",
"Unione Americana per le Libertà Civili", "Agenzia Internazionale per le Energie Rinnovabili" and "Alleanza delle
Forze Democratiche per la Liberazione del Congo" before "per", so both halves were wrong (and the second was often
read as a place). Italian writes the purpose of an agency or an association with "per", and when the words after
it are capitalised they are the rest of the name, not a purpose in running text ("l'Unione Europea per anni", "la
Banca d'Italia per la prima volta" stay as they are: the word after "per" or its article is not capitalised).

Only a capitalised organisation is extended ("governo per la Ricostruzione" is no name), and only over capitalised
words and the articles, prepositions and conjunctions that join them. A mention inside the longer name is dropped.
Measured: `python -m streams.nlp.evaluate_real` (docs/annotation-quality.md, "Session 18").
"""

from __future__ import annotations

import re

from streams.nlp.normalise import LABELS, Mention

_CAPITALISED = r"[A-ZÀ-Ý][\w-]*"
_JOINING = r"(?:e|ed|di|del|della|dello|dei|degli|delle|il|lo|la|i|gli|le|per|sul|sulla|sulle) "  # then a space
_ELIDED = r"(?:dell|d|l|all|sull)['’]"  # then the next word, with no space
_AFTER_PER = re.compile(
    rf" per (?:(?:il|lo|la|i|gli|le) |l['’])?{_CAPITALISED}(?: (?:{_JOINING}|{_ELIDED})*{_CAPITALISED})*")


def apply(language: str, text: str, mentions: list[Mention]) -> list[Mention]:
    """The mentions with Italian organisation names carried on over "per" (offsets into `text`)."""
    if language != "it":
        return mentions
    extended: list[Mention] = []
    for mention in mentions:
        if LABELS.get(mention.label) == "ORG" and mention.text[:1].isupper() and mention.source != "rule":
            rest = _AFTER_PER.match(text, mention.start + len(mention.text))
            if rest is not None:
                mention = Mention(text[mention.start:rest.end()], mention.label, mention.start, mention.source)
        extended.append(mention)
    longer = [(m.start, m.start + len(m.text)) for m, old in zip(extended, mentions, strict=True) if m is not old]

    def inside_longer(m: Mention) -> bool:
        start, end = m.start, m.start + len(m.text)
        return any(a <= start and end <= b and (a, b) != (start, end) for a, b in longer)

    return [m for m in extended if not inside_longer(m)]
