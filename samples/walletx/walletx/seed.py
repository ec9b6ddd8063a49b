"""Test wallet holders created by ``init``. Bank card numbers pass the Luhn check and
ID card numbers carry a valid GB 11643 check digit. Money is in fen (1 yuan = 100 fen)."""

from __future__ import annotations

from typing import NamedTuple


class Holder(NamedTuple):
    login_name: str
    credential: str
    wallet_no: str
    holder_name: str
    bank_card_no: str
    mobile: str
    id_card_no: str
    sign_key: str  # the per-holder payment signing key handed to the holder's client
    balance_fen: int


HOLDERS: tuple[Holder, ...] = (
    Holder(
        "zhangsan",
        "Zs@Wallet2024",
        "W10000001",
        "张三",
        "6212260200012345670",
        "13700001111",
        "320106198805123513",
        "wxk-zs-5b7f0c2e9a14d3b8",
        3_000_000,
    ),
    Holder(
        "lisi",
        "Ls@Wallet2024",
        "W10000002",
        "李四",
        "6228480019765432109",
        "18600002222",
        "510107199508234627",
        "wxk-ls-c41e8d07b2a95f36",
        800_000,
    ),
    Holder(
        "wangwu",
        "Ww@Wallet2024",
        "W10000003",
        "王五",
        "6258090003456789018",
        "15900003333",
        "420102197901010037",
        "wxk-ww-97a3f5d21c08e6b4",
        5_000,
    ),
)
