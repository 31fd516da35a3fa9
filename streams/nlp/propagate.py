"""Entity propagation within one article, for every language and model.

A statistical model decides each mention on its own, so one article ends up with "Vladimir Putin" PER, a later
"Putin" missed or typed ORG, and a shouting headline "PUTIN" missed. Here one article is one context:
- each surface gets one type: rule matches decide, else the majority of body mentions (headline mentions count
  half), ties going to the first body mention;
- unlabelled later occurrences of a known surface, of a person's surname (last token), of an organisation's
  acronym ("Office for National Statistics" -> "ONS") or short form ("Reform UK" -> "Reform") are added;
  a lone surname the model typed otherwise becomes the person's;
- headlines are matched ignoring case.
Nothing is added across token boundaries or over an existing mention (of any label), so mentions never overlap.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache

from streams.nlp.normalise import LABELS, Mention, clean_surface, fold

Token = tuple[int, int]  # character offsets [start, end) of one token

# Tokens dropped from the end of an organisation's name to get the short form it is also called by.
ORG_SUFFIXES = frozenset({"UK", "plc", "PLC", "Ltd", "Inc", "Group", "FC", "AFC", "County", "United", "Corp",
                          "Corporation", "Holdings", "SA", "AG", "SpA", "S.p.A.", "NV", "SE", "GmbH", "Party"})
# Surnames that are also calendar words ("Theresa May" must not make every "May" a person).
NOT_SURNAMES = frozenset({"may", "june", "april", "august", "march", "mars", "juin", "mai", "maggio", "giugno",
                          "jr", "jr.", "sr", "ii", "iii"})
_FUNCTION_WORDS = frozenset({"of", "for", "the", "and", "on", "de", "du", "des", "la", "le", "di", "del", "della",
                             "e", "et", "&"})
_PIECE = re.compile(r"[^\s:](?:[^\n:]*[^\s:])?")  # a line (or colon-separated part) without edge whitespace
_WORD_RUN = re.compile(r"\w+")
_TOKENISH = re.compile(r"\w+|[^\w\s]")  # splits at least as finely as spaCy: an upper bound on token counts
_SCORE = re.compile(r"\s+\d+[-–]\d+$")
_ELIDED = re.compile(r"^[lL]['’](?=[A-ZÀ-Ý])")
RULE_WEIGHT, BODY_WEIGHT, TITLE_WEIGHT = 100.0, 1.0, 0.5


def _types(mentions: Sequence[Mention], title_end: int) -> dict[str, str]:
    """One type per folded surface (see module docstring)."""
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    first_body: dict[str, str] = {}
    for m in sorted(mentions, key=lambda m: m.start):
        etype = LABELS.get(m.label)
        if etype is None:
            continue
        key = fold(clean_surface(m.text))
        in_title = m.start < title_end
        votes[key][etype] += RULE_WEIGHT if m.source == "rule" else TITLE_WEIGHT if in_title else BODY_WEIGHT
        if not in_title:
            first_body.setdefault(key, etype)
    resolved = {}
    for key, counter in votes.items():
        best = max(counter.values())
        tied = [t for t, v in counter.items() if v == best]
        resolved[key] = first_body[key] if len(tied) > 1 and first_body.get(key) in tied else tied[0]
    return resolved


def _acronym(words: list[str]) -> str | None:
    content = [w for w in words if w.lower() not in _FUNCTION_WORDS]
    if len(content) < 2 or not all(w[:1].isupper() for w in content):
        return None
    return "".join(w[0] for w in content)


def _forms(entities: dict[str, tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """Surface forms to look for -> type; and the forms (surnames, acronyms) that may retype a lone mention."""
    candidates: dict[str, set[str]] = defaultdict(set)
    strong: set[str] = set()
    for surface, etype in entities.values():
        candidates[surface].add(etype)
        words = surface.split()
        if len(words) < 2:
            continue
        if etype == "PER" and words[0][:1].isupper():  # not "de Marseille"
            surname = words[-1]
            if surname[:1].isupper() and len(surname) > 1 and surname.lower() not in NOT_SURNAMES:
                candidates[surname].add("PER")
                strong.add(surname)
        elif etype == "ORG":
            acronym = _acronym(words)
            if acronym and len(acronym) >= 2:
                candidates[acronym].add("ORG")
                strong.add(acronym)
            short = list(words)
            while len(short) > 1 and short[-1] in ORG_SUFFIXES:
                short.pop()
            if len(short) < len(words) and short[0][:1].isupper():
                candidates[" ".join(short)].add("ORG")
    # Two people called Biden: "Biden" alone is not propagated. Otherwise a surname or an acronym derived from a
    # full name wins over the model's own type for the lone form.
    surnames = Counter(s.split()[-1] for s, t in entities.values() if t == "PER" and len(s.split()) > 1)
    forms = {}
    for form, types in candidates.items():
        if form in strong:
            derived = {"PER"} if surnames[form] else {"ORG"}
            if surnames[form] <= 1 and not (surnames[form] and "ORG" in types and _acronym_of(form, entities)):
                forms[form] = next(iter(derived))
        elif len(types) == 1:
            forms[form] = next(iter(types))
    return forms, {f for f in strong if f in forms}


def _acronym_of(form: str, entities: dict[str, tuple[str, str]]) -> bool:
    return any(t == "ORG" and _acronym(s.split()) == form for s, t in entities.values())


def tidy(text: str, mentions: Sequence[Mention]) -> list[Mention]:
    """Model mentions cut where names do not continue: at line breaks and colons ("...leaders Liverpool\n\n
    Arsenal beat", "Tour de France : Pogacar"), without a trailing score ("Chelsea 2-1") or a leading elided
    article ("l'ONU"). Cuts fall on token boundaries: each piece starts and ends where the text has a word edge."""
    result = []
    for m in mentions:
        for piece in _PIECE.finditer(m.text):
            surface = _SCORE.sub("", piece.group())
            elided = _ELIDED.match(surface)
            offset = m.start + piece.start()
            if elided:
                surface, offset = surface[elided.end():], offset + elided.end()
            if surface:
                result.append(m if surface == m.text else Mention(surface, m.label, offset, m.source))
    return result


def propagate(text: str, mentions: Sequence[Mention], tokens: Sequence[Token], title_end: int = 0) -> list[Mention]:
    """`mentions` (model and rule matches over `text`, see tidy) made consistent within the article and
    completed."""
    types = _types(mentions, title_end)
    entities: dict[str, tuple[str, str]] = {}  # folded surface -> (surface, type), first seen
    for m in sorted(mentions, key=lambda m: (m.start >= title_end, m.start)):  # body spelling preferred
        surface = clean_surface(m.text)
        key = fold(surface)
        if key in types and len(surface) >= 2:
            entities.setdefault(key, (surface, types[key]))
    forms, strong = _forms(entities)

    result = []
    for m in mentions:  # one type per surface; a lone surname or acronym follows its full name
        etype = LABELS.get(m.label)
        if etype is None:
            result.append(m)
            continue
        surface = clean_surface(m.text)
        wanted = types.get(fold(surface), etype)
        if surface in strong and m.source != "rule":
            wanted = forms[surface]
        result.append(m if wanted == etype else Mention(m.text, wanted, m.start, m.source))

    return sorted(result + _occurrences(text, tokens, title_end, forms, result), key=lambda m: m.start)


def _occurrences(text: str, tokens: Sequence[Token], title_end: int, forms: dict[str, str],
                 taken: Sequence[Mention]) -> list[Mention]:
    """Free occurrences of the forms: exact, shouting, or (in the headline) any case; whole tokens only."""
    shouting = {f.upper(): t for f, t in forms.items()}
    folded = {fold(f): t for f, t in forms.items()}
    reach: dict[str, int] = {}  # first word, case-folded -> the most tokens a form starting with it can span
    for form in forms:
        first = _first_word(form)
        reach[first] = max(reach.get(first, 0), len(_TOKENISH.findall(form)))
    spans = sorted((m.start, m.end) for m in taken)
    starts = [s for s, _ in spans]
    added, i = [], 0
    while i < len(tokens):
        start = tokens[i][0]
        if start >= title_end and not text[start].isupper():  # body names start with a capital
            i += 1
            continue
        longest = reach.get(_first_word(text[start:tokens[i][1]]), 0)
        for n in range(min(longest, len(tokens) - i), 0, -1):
            end = tokens[i + n - 1][1]
            before = bisect_left(starts, end)  # spans starting before `end`; the last may overlap
            if before and spans[before - 1][1] > start:
                continue
            candidate = text[start:end]
            hit = forms.get(candidate)
            if hit is None and candidate.isupper():
                hit = shouting.get(candidate)
            if hit is None and end <= title_end and (n > 1 or candidate[:1].isupper()):
                hit = folded.get(fold(candidate))  # headlines: "Vladimir putin", "vladimir putin"
            if hit is not None:
                added.append(Mention(candidate, hit, start, "propagated"))
                i += n - 1
                break
        i += 1
    return added


@lru_cache(maxsize=4096)  # once per token text within a batch; small, so a long run stays flat
def _first_word(text: str) -> str:
    match = _WORD_RUN.match(text)
    return match.group().casefold() if match else text[:1]
