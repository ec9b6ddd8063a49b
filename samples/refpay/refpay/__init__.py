"""refpay: reference payment service used as calibration material by the lab harness.

Pure standard library on purpose: it must run in a minimal container with only
python3 and openssl.
"""

__version__ = "1.0.0"
