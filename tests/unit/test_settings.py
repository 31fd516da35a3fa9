"""NEWSDESK_* settings that are validated rather than taken as given."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from newsdesk.settings import STAGES, Settings


def test_every_stage_runs_by_default() -> None:
    assert Settings().stages == list(STAGES)


@pytest.mark.parametrize("stages", ['["annotate"]', '["index"]', '["annotate", "index"]', '["poll", "annotate"]'])
def test_a_worker_may_run_a_subset_of_the_stages(monkeypatch: pytest.MonkeyPatch, stages: str) -> None:
    monkeypatch.setenv("NEWSDESK_STAGES", stages)
    assert Settings().stages == json.loads(stages)


@pytest.mark.parametrize(("stages", "message"), [
    ('["poll"]', "needs 'annotate'"),
    ('["poll", "index"]', "needs 'annotate'"),
    ("[]", "at least one stage"),
    ('["annotate", "translate"]', "Input should be"),
])
def test_impossible_stage_sets_are_refused(monkeypatch: pytest.MonkeyPatch, stages: str, message: str) -> None:
    monkeypatch.setenv("NEWSDESK_STAGES", stages)
    with pytest.raises(ValidationError, match=message):
        Settings()
