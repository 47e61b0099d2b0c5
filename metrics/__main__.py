"""`python -m metrics ...`: the analysts' command line."""

from metrics.cli import main

raise SystemExit(main())
