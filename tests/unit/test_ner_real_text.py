"""Entity quality on real text written by others (tests/fixtures/ner-real/), held to floors.

These are the headline figures of docs/annotation-quality.md (`python -m streams.nlp.evaluate_real --markdown`):
Europarl it/en and UNER English PUD with their published gold, Italian PUD with gold projected from the English
and completed by readers (tests/fixtures/ner-real/README.md). The sets are test sets: never train on them. Each
floor is the measured document-level F1 minus ~0.03, so a change that makes entities worse on real text fails
here; when a change makes them better, raise the floors and the table in the docs. The whole file annotates the
four sets once (module fixture), about 10 s.
"""

from __future__ import annotations

import json

import pytest

from newsdesk.settings import DEFAULT_MODELS
from streams.nlp.annotate import Annotator
from streams.nlp.evaluate import HEADLINE, load, problems
from streams.nlp.evaluate_real import SETS, SetResult, format_markdown, run
from tests.conftest import FIXTURES

REAL = FIXTURES / "ner-real"

# Measured 2026-12-07 with DEFAULT_MODELS (it: newsdesk:it_news, session 17: encoder depth 6, word vectors,
# synthetic news and real text a reader corrected; en: en_core_web_sm 3.8.0) + rules + precision filters + name
# lists + name types (session 18: initialisms, rulers' numerals, "per" names, split places, ruler titles) +
# propagation. Document-level F1 ("micro" = PER/ORG/LOC micro average). Italian moves with the
# model's seed by ~0.01-0.02 (Europarl-IT 0.714 / 0.730, PUD-IT 0.674 / 0.667 at seeds 0 and 1, as paths; LOC on
# Europarl-IT 0.64 / 0.71), so its floors sit a little lower. The session 15 model scores 0.624 on PUD-IT
# (projected + read): these floors fail it.
FLOORS: dict[str, dict[str, float]] = {
    # measured: micro 0.718, PER 0.873, ORG 0.690, LOC 0.644
    "Europarl-IT": {"micro": 0.68, "PER": 0.83, "ORG": 0.65, "LOC": 0.60},
    # measured: micro 0.698, PER 0.786, ORG 0.520, LOC 0.714
    "PUD-IT (projected + read)": {"micro": 0.66, "PER": 0.75, "ORG": 0.48, "LOC": 0.68},
    # measured: micro 0.725, PER 0.838, ORG 0.701, LOC 0.694
    "Europarl-EN": {"micro": 0.69, "PER": 0.80, "ORG": 0.66, "LOC": 0.66},
    # measured: micro 0.663, PER 0.745, ORG 0.484, LOC 0.703
    "UNER PUD-EN": {"micro": 0.63, "PER": 0.71, "ORG": 0.45, "LOC": 0.67},
}


@pytest.fixture(scope="module")
def results() -> dict[str, SetResult]:
    return {r.name: r for r in run(Annotator(DEFAULT_MODELS), REAL)}


@pytest.mark.parametrize(("language", "name", "file"), SETS)
def test_real_set_is_well_formed_and_complete(language: str, name: str, file: str) -> None:
    documents = load(REAL / file)
    assert problems(documents) == []
    assert {d.language for d in documents} == {language}
    assert {d.split for d in documents} == {"heldout"}  # test sets only
    assert sum(len(d.entities) for d in documents) > 500


def test_every_source_has_its_notice() -> None:
    notice = (REAL / "NOTICE").read_text()
    for needle in ("Europarl", "UNER_English-PUD", "UD_Italian-PUD", "CC BY-SA 3.0"):
        assert needle in notice
    for licence in ("europarl-README.md", "UD_Italian-PUD-LICENSE.txt", "UNER_English-PUD-LICENSE.txt"):
        assert (REAL / "licences" / licence).stat().st_size > 0


def test_pud_sets_are_parallel() -> None:
    english = [json.loads(line)["id"] for line in (REAL / "pud-en.jsonl").read_text().splitlines()]
    italian = [json.loads(line)["id"] for line in (REAL / "pud-it.jsonl").read_text().splitlines()]
    assert sorted(i.removeprefix("pud-en-") for i in english) == sorted(i.removeprefix("pud-it-") for i in italian)


def test_pud_it_holds_the_readers_completion() -> None:
    """pud-it-read.tsv (build.py `read`) is what pud-it.jsonl holds over the projection: every mention a reader
    put in is there, and every projected mention a reader took out is gone."""
    gold = {json.loads(line)["id"]: {(e["type"], e["start"], e["end"], e["text"]) for e in json.loads(line)["entities"]}
            for line in (REAL / "pud-it.jsonl").read_text().splitlines()}
    rows = [line.split("\t") for line in (REAL / "pud-it-read.tsv").read_text().splitlines()
            if line and not line.startswith("#")]
    assert len(rows) > 100
    for doc_id, sign, etype, start, end, surface in rows:
        present = (etype, int(start), int(end), surface) in gold[doc_id]
        assert present == (sign == "+"), (doc_id, sign, etype, surface)


@pytest.mark.parametrize("name", list(FLOORS))
def test_real_text_meets_floors(results: dict[str, SetResult], name: str) -> None:
    result = results[name]
    assert set(result.result.languages) == {SETS[[s[1] for s in SETS].index(name)][0]}  # language identified
    measured = {t: result.cell(t).f1 for t in (*HEADLINE, "micro")}
    low = {t: round(measured[t], 3) for t, floor in FLOORS[name].items() if measured[t] < floor}
    assert not low, f"{name} below its floors {FLOORS[name]}: {low}\n{format_markdown([result])}"
