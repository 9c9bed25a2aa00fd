"""Suite-wide settings: in CI (CI=true), a skipped test fails the run.

Tests skip when an optional dependency is missing (`pytest.importorskip`), which is right on a
developer's machine with fewer extras, but CI installs every extra: there a skip means a broken
install, and a skipped test must not be counted as passing.
"""

from __future__ import annotations

import os


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
