"""Allow ``python -m skillgauge``."""

from skillgauge.cli import main

raise SystemExit(main())
