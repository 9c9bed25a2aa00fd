"""`python -m micrograd ...`: the same as the `micrograd` command (see `micrograd/cli.py`)."""

from micrograd.cli import main

raise SystemExit(main())
