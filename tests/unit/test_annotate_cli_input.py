"""`newsdesk annotate` with hostile input (issue 18, defect 6): invalid UTF-8 under a strict stdin encoding, an id
that is not one, text past the annotator's limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from newsdesk.cli import _annotate_input
from streams.nlp.annotate import MAX_CHARS
from streams.records import Annotation


@pytest.mark.parametrize("line", [b'{"id": null}', b'{"id": ""}', b'{"id": "  "}', b'{"id": true}', b'{"id": []}',
                                  b'{"id": {}}', b'{"title": "no id"}', b'{"id": NaN}', b'{"id": "\\ud800"}'])
def test_an_id_that_is_not_one_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError, match='not an article'):
        _annotate_input(line)


@pytest.mark.parametrize(("line", "reason"), [
    (b'{"id": "a", "title": "caf\xe9"}', "not UTF-8 (byte 0xe9 at column 26)"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "a JSON list, not an object"),
    (b'{"id": "a", "text": 5}', '"text" must be a string'),
    (b'{"id": "a", "language": ["en"]}', '"language" must be a string'),
])
def test_a_bad_line_says_why(line: bytes, reason: str) -> None:
    with pytest.raises(ValueError) as error:
        _annotate_input(line)
    assert reason in str(error.value)


def test_good_lines() -> None:
    assert _annotate_input(b'{"id": 7, "title": "T"}') == ("7", "T", "", None)
    assert _annotate_input(b'{"id": "x", "text": "caf\xc3\xa9", "language": "it"}') == ("x", "", "café", "it")
    # a lone surrogate escape cannot be written out as UTF-8: it becomes U+FFFD (same length: offsets hold)
    assert _annotate_input(b'{"id": "x", "text": "a\\udc00b"}') == ("x", "", "a\ufffdb", None)


def test_the_command_survives_hostile_input_on_a_strict_utf8_stdin() -> None:
    lines = [
        json.dumps({"id": "ok-1", "title": "Macron visits Berlin",
                    "text": "French President Emmanuel Macron met Olaf Scholz.", "language": "en"}).encode(),
        b'{"id": "bad-\xff", "title": "invalid byte"}',
        b'{"id": null, "title": "Null id"}',
        json.dumps({"id": 42, "title": "Numbers are ids", "text": "Angela Merkel spoke in Paris."}).encode(),
        json.dumps({"id": "long", "title": "Long",
                    "text": "Angela Merkel spoke in Paris. " * (MAX_CHARS // 30 + 100)}).encode(),
        json.dumps({"id": "surrogate", "title": "Lone \udc00 surrogate", "text": "Rome."}).encode(),
    ]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    result = subprocess.run([sys.executable, "-m", "newsdesk.cli", "annotate"], input=b"\n".join(lines) + b"\n",
                            capture_output=True, env=env, timeout=600)
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr, stderr
    assert result.returncode == 1
    out = [Annotation.model_validate_json(line) for line in result.stdout.splitlines()]
    assert [a.id for a in out] == ["ok-1", "42", "long", "surrogate"]
    assert "line 2: not UTF-8" in stderr
    assert 'line 3: not an article ("id" must be a non-empty string or a number, not null)' in stderr
    assert f"line 5: \"long\": title + text is {len('Long') + 2 + len(json.loads(lines[4])['text'])} characters; " \
           f"annotated only up to character {MAX_CHARS}" in stderr
    assert "None" not in [a.id for a in out]
