"""`python -m micrograd ...`: the same as the `micrograd` command (`micrograd/cli/command.py`)."""

from micrograd.cli import main

raise SystemExit(main())
