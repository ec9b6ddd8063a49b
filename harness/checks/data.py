"""Chapter 10 (数据安全) analysers: what a check hands in is text, stored files or JSON answers plus
what the spec declared (test accounts, masking rules); what comes back are findings with excerpts
already safe for evidence (C2 masked, C3 hidden). No pytest, no network: unit-tested on their own.

- ``scan_text``: C3 (typed passwords) and unmasked or insufficiently masked C2 in logs or pages.
- ``stored_values`` / ``assess_password_storage`` / ``stored_c3``: the sample's data files (SQLite
  databases column by column, YAML and JSON key by key, other text line by line) and how passwords
  are kept there.
- ``excess_in_answer``: what an API answer carries beyond the use case: credential material
  (passwords, password hashes, reset and one-time codes, PINs, another account's session
  credential), full card and ID numbers, and other accounts' data. A plain flag (locked, admin,
  deleted) reveals no person, credential or account and is not over-exposure.
"""

from __future__ import annotations

from harness.checks.answer_excess import Excess, excess_in_answer, walk
from harness.checks.field_names import c3_named, code_named, name_words, password_named
from harness.checks.password_hashes import (
    ARGON2_FLOOR_M_KIB,
    ARGON2_FLOOR_M_TIMES_T,
    BCRYPT_FLOOR,
    PBKDF2_FLOOR,
    PBKDF2_RECOMMENDED,
    SCRYPT_FLOOR_N,
    SCRYPT_RECOMMENDED_N,
    HashAssessment,
    assess_password_value,
    hash_format,
    salted_construction,
)
from harness.checks.stored_data import (
    SQLITE_MAGIC,
    PasswordRecord,
    assess_password_storage,
    data_file_kind,
    record_values,
    stored_c3,
    stored_values,
)
from harness.checks.text_leaks import KnownValue, Leak, known_values, scan_text, typed_passwords
from harness.probes.stores import StoredValue

# The analysers live in the modules above; everything stays importable from here.
__all__ = [
    "ARGON2_FLOOR_M_KIB",
    "ARGON2_FLOOR_M_TIMES_T",
    "BCRYPT_FLOOR",
    "PBKDF2_FLOOR",
    "PBKDF2_RECOMMENDED",
    "SCRYPT_FLOOR_N",
    "SCRYPT_RECOMMENDED_N",
    "SQLITE_MAGIC",
    "Excess",
    "HashAssessment",
    "KnownValue",
    "Leak",
    "PasswordRecord",
    "StoredValue",
    "assess_password_storage",
    "assess_password_value",
    "c3_named",
    "code_named",
    "data_file_kind",
    "excess_in_answer",
    "hash_format",
    "known_values",
    "name_words",
    "password_named",
    "record_values",
    "salted_construction",
    "scan_text",
    "stored_c3",
    "stored_values",
    "typed_passwords",
    "walk",
]
