"""Entry point for ``python3 -m refpay``."""

from refpay.cli import main

raise SystemExit(main())
