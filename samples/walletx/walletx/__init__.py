"""WalletX（钱包X）: a small wallet payment API used as a second calibration sample.

Standard library only: it needs ``python3`` (3.11+) and the ``openssl`` command.
"""

__version__ = "2.3.1"
