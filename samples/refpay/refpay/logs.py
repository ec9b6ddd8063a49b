"""Logging to DIR/refpay.log and stderr."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(log_path: Path) -> logging.Logger:
    logger = logging.getLogger("refpay")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (
        logging.FileHandler(log_path, encoding="utf-8"),
        logging.StreamHandler(sys.stderr),
    ):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logger.propagate = False
    return logger
