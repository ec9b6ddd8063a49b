"""Test users created by ``init``. Card numbers are Luhn-valid, ID numbers
carry a valid GB 11643 check digit (asserted by the test suite)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedUser:
    username: str
    password: str
    account_id: str
    card_number: str
    id_number: str
    phone: str
    balance: str


SEED_USERS: tuple[SeedUser, ...] = (
    SeedUser(
        "alice",
        "Alice#2024pay",
        "6001",
        "6222021234567890128",
        "11010519491231002X",
        "13812345678",
        "10000.00",
    ),
    SeedUser(
        "bob",
        "Bob#2024pay",
        "6002",
        "6228480402564890018",
        "440524188001010014",
        "13987654321",
        "5000.00",
    ),
    SeedUser(
        "carol",
        "Carol#2024pay",
        "6003",
        "6217001234567890122",
        "31010419900307123X",
        "15011112222",
        "100.00",
    ),
)
