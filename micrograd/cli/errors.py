"""How a subcommand ends: the exit codes, one line on stderr for an error, and Ctrl-C.

Every subcommand of the `micrograd` command (`micrograd/cli/command.py` and the subcommand modules
beside it) reports failures through here, so that they all speak alike: `micrograd: error: ...`
on one line, exit code 2 for input the command cannot use (`USAGE_ERROR`), 1 when the job fails
(`FAILED`), 130 for Ctrl-C. `guarded(job)` runs a job and turns the errors users can cause into
that line; `caused_by_ctrl_c` recognises a Ctrl-C that Python wrapped in another exception.

The subcommand modules import this module, never `command.py`, which imports them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["FAILED", "USAGE_ERROR", "caused_by_ctrl_c", "fail", "guarded"]

USAGE_ERROR, FAILED = 2, 1


def caused_by_ctrl_c(error: BaseException) -> bool:
    """True if a KeyboardInterrupt is among the exceptions `error` was raised from or during."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def fail(message: str, code: int = FAILED) -> int:
    """Print `micrograd: error: MESSAGE` on one line to stderr; return `code`."""
    message = " ".join(str(message).split())  # one line, whatever the exception held
    print(f"micrograd: error: {message}", file=sys.stderr)
    return code


def guarded(job: Callable[[], int]) -> int:
    """Run `job()`, turning the errors users can cause into one line and an exit code."""
    from micrograd.cli.train import ConfigError

    try:
        return job()
    except ConfigError as e:
        return fail(str(e), USAGE_ERROR)
    except (ValueError, TypeError) as e:
        return fail(str(e))
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return fail(f"{e.strerror or e}{where}" if e.strerror else str(e))
    except ImportError as e:
        from micrograd._distribution import install_hint

        hint = "" if "pip install" in str(e) else f" ({install_hint('train')})"
        return fail(f"a required package is missing: {e}{hint}")
    except KeyboardInterrupt:
        return fail("interrupted; nothing was written", 130)
