"""The suite's own settings (tests/conftest.py): hypothesis's profiles keep the suite in its time
budget by default, and `--hypothesis-profile=long` searches further."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis (test extra)")


def test_the_default_profile_is_modest_and_has_no_deadline(request):
    profile = hypothesis.settings.get_profile("default")
    assert profile.max_examples == 50 and profile.deadline is None
    if request.config.getoption("hypothesis_profile", None) in (None, "default"):
        assert hypothesis.settings().max_examples == 50  # what the suite runs with


def test_the_long_profile_runs_many_more_examples():
    profile = hypothesis.settings.get_profile("long")
    assert profile.max_examples >= 20 * hypothesis.settings.get_profile("default").max_examples
    assert profile.deadline is None
