"""Entity label mapping and within-article normalisation (pure)."""

from streams.nlp.normalise import Mention, fold, normalise


def _by_key(mentions: list[Mention]) -> dict:
    return {e.key: e for e in normalise(mentions)}


def test_surname_joins_full_name_and_counts_mentions() -> None:
    entities = _by_key([Mention("Vladimir Putin", "PERSON", 10), Mention("Putin", "PERSON", 50),
                        Mention("Putin", "PER", 2)])
    putin = entities["PER:vladimir putin"]
    assert (putin.name, putin.mentions, putin.first_offset) == ("Vladimir Putin", 3, 2)
    assert len(entities) == 1


def test_ambiguous_surname_stays_apart() -> None:
    entities = _by_key([Mention("Joe Biden", "PERSON", 0), Mention("Jill Biden", "PERSON", 20),
                        Mention("Biden", "PERSON", 40)])
    assert set(entities) == {"PER:joe biden", "PER:jill biden", "PER:biden"}


def test_labels_are_mapped_and_numbers_dropped() -> None:
    entities = _by_key([Mention("Moscow", "GPE", 0), Mention("the Kremlin", "FAC", 5), Mention("NATO", "ORG", 9),
                        Mention("Russian", "NORP", 14), Mention("Monday", "DATE", 20), Mention("3", "CARDINAL", 30)])
    assert {k: e.type for k, e in entities.items()} == {
        "LOC:moscow": "LOC", "LOC:kremlin": "LOC", "ORG:nato": "ORG", "MISC:russian": "MISC"}


def test_case_accents_whitespace_and_possessive_fold_together() -> None:
    entities = _by_key([Mention("UCRAINA", "LOC", 0), Mention("Ucraina", "LOC", 9),
                        Mention("Zelensky's", "PER", 20), Mention("Zelensky", "PER", 40),
                        Mention("São  Paulo", "LOC", 60), Mention("Sao Paulo", "LOC", 70)])
    assert entities["LOC:ucraina"].name == "Ucraina"  # mixed case preferred over shouting
    assert entities["LOC:ucraina"].mentions == 2
    assert entities["PER:zelensky"].mentions == 2
    assert entities["LOC:sao paulo"].mentions == 2


def test_junk_spans_are_dropped() -> None:
    assert normalise([Mention("—", "ORG", 0), Mention("A", "PER", 2), Mention("2024", "ORG", 4)]) == []


def test_fold() -> None:
    assert fold("  Émile   ZOLA ") == "emile zola"
