"""Suite-wide settings: hypothesis profiles, and in CI (CI=true) a skipped test fails the run.

Tests skip when an optional dependency is missing (`pytest.importorskip`), which is right on a
developer's machine with fewer extras, but CI installs every extra: there a skip means a broken
install, and a skipped test must not be counted as passing.

Hypothesis runs the "default" profile here: a modest number of examples per property, so the
suite stays within its time budget, and no deadline (a shared machine's pauses are not bugs).
`python -m pytest --hypothesis-profile=long` runs many more examples, for a search before a
release or after changing an engine. `--hypothesis-profile=sanitize` runs fewer, for
.ci/sanitize's instrumented build (several times slower). A test's own `@settings(max_examples=...)` takes precedence
over either profile: leave it out to follow them.
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; the tests that need it skip without it
    pass
else:
    settings.register_profile(
        "default",
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "long",
        max_examples=2000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "sanitize",
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    # `--hypothesis-profile=NAME` (hypothesis's pytest plugin) loads its profile after this.
    settings.load_profile("default")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() not in ("true", "1"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; every test must run in CI")
        for report in skipped:
            reporter.write_line(f"  skipped: {report.nodeid}: {report.longrepr[-1]}")
        session.exitstatus = 1
