"""Entry point for ``python3 -m walletx``."""

from walletx.cli import main

raise SystemExit(main())
