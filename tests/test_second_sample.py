"""The second calibration sample, WalletX: described only by its spec, it runs through the same
suites as RefPay. Also the unit tests of the driver extension it needed (money in minor units)."""

from __future__ import annotations

import importlib
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from harness.deploy.base import Deployment, Target
from harness.deploy.scope import ScopeGuard
from harness.drivers.base import DriverError, DriverSession
from harness.drivers.rest import RestDriverImpl, canonical_string, from_wire_amount, sign, to_wire_amount
from harness.spec import load_spec
from harness.spec.model import AmountEncoding, Operation, RestDriver
from harness.store import Verdict, session
from tests.conftest import ROOT, SPECS, harness_cli

SAMPLE_DIR = ROOT / "samples" / "walletx"
WALLETX = SPECS / "walletx.yaml"


def _walletx(module: str) -> Any:
    if str(SAMPLE_DIR) not in sys.path:
        sys.path.insert(0, str(SAMPLE_DIR))
    return importlib.import_module(f"walletx.{module}")


# -- the extension: AmountEncoding on an operation ----------------------------------------------
MINOR = AmountEncoding(encoding="minor-units", exponent=2, fields=["amount"], returns=["balance"])


@pytest.mark.parametrize(
    ("given", "wire"),
    [
        (Decimal("1.00"), 100),
        (Decimal("20000.01"), 2000001),
        ("12.5", 1250),
        (3, 300),
        (Decimal("0"), 0),
        (Decimal("-1.00"), -100),  # the sign is kept: the sample must refuse it, not the driver
        (Decimal("0.001"), 0.1),  # over-precise: a fraction of a fen, still sent for the sample to refuse
        ("abc", "abc"),  # malformed values pass untouched
        ("1e3", "1e3"),
        (Decimal("NaN"), Decimal("NaN")),
        (True, True),
        (None, None),
    ],
)
def test_amounts_go_out_in_minor_units_and_malformed_ones_untouched(given: Any, wire: Any) -> None:
    got = to_wire_amount(MINOR, given)
    if isinstance(given, Decimal) and given.is_nan():
        assert got is given
        return
    assert got == wire and type(got) is type(wire)


def test_amounts_come_back_as_decimals() -> None:
    assert from_wire_amount(MINOR, 3000000) == Decimal("30000.00")
    assert str(from_wire_amount(MINOR, 5)) == "0.05"
    assert from_wire_amount(AmountEncoding(exponent=0), "42") == Decimal(42)
    for bad in (1.5, "1.50", True, None, "x"):
        with pytest.raises(ValueError):
            from_wire_amount(MINOR, bad)


def test_operations_without_amounts_are_unchanged_and_the_default_encoding_is_fen() -> None:
    op = Operation(method="POST", path="/t", body={"amount": "{amount}"})
    assert op.amounts is None
    enc = AmountEncoding()
    assert (enc.encoding, enc.exponent, enc.fields, enc.returns) == ("minor-units", 2, ["amount"], [])
    with pytest.raises(ValidationError):
        AmountEncoding(encoding="cents")  # type: ignore[arg-type]


class _FakeDeployment(Deployment):
    def logs(self) -> str:
        return ""

    def read_file(self, relative: str) -> bytes:
        raise FileNotFoundError(relative)

    def alive(self) -> bool:
        return True


class _Answer:
    def __init__(self, payload: Any, status: int = 201) -> None:
        self.payload, self.status_code = payload, status

    def json(self) -> Any:
        return self.payload


def _driver(desc: RestDriver) -> RestDriverImpl:
    dep = _FakeDeployment(
        target=Target("m", "process"), host="127.0.0.1", ports={"api": 9, "https": 9}, workdir=Path("/tmp")
    )
    return RestDriverImpl(desc, dep, ScopeGuard())


def test_the_driver_converts_before_signing_and_converts_answers_back() -> None:
    desc = load_spec(WALLETX).spec.driver
    assert isinstance(desc, RestDriver)
    drv = _driver(desc)
    acct = desc.accounts[0]
    s = DriverSession(account=acct, token="tok")
    call = drv.prepare("transfer", s, to_account="W2", amount=Decimal("12.34"))
    assert call.json is not None
    assert call.json["amountFen"] == 1234 and call.json["walletNo"] == acct.account_id
    assert call.headers["X-Wallet-Token"] == "tok"  # header auth without prefix
    assert desc.signing is not None
    # the signature covers the converted amount, and matches what the sample itself computes
    assert call.headers["X-Signature"] == sign(desc.signing, acct.sign_secret or "", call.json)
    secure = _walletx("secure")
    assert canonical_string(desc.signing, call.json) == secure.canonical(call.json)
    assert secure.signature_ok(acct.sign_secret, call.json, call.headers["X-Signature"])
    # a malformed amount reaches the sample as it was given
    assert drv.prepare("transfer", s, to_account="W2", amount="abc").json["amountFen"] == "abc"  # type: ignore[index]
    # answers: the declared amount names come back in yuan, the others untouched
    answer = _Answer({"code": 0, "data": {"balanceFen": 2998766, "paymentNo": "P1"}})
    assert drv.returned(answer, "transfer", "balance") == Decimal("29987.66")  # type: ignore[arg-type]
    assert drv.returned(answer, "transfer", "transfer_id") == "P1"  # type: ignore[arg-type]
    with pytest.raises(DriverError):
        drv.returned(_Answer({"data": {"balanceFen": "lots"}}), "transfer", "balance")  # type: ignore[arg-type]


def test_refpay_spec_keeps_its_behaviour() -> None:
    desc = load_spec(SPECS / "refpay.yaml").spec.driver
    assert isinstance(desc, RestDriver)
    assert all(op.amounts is None for op in desc.operations.values())
    s = DriverSession(account=desc.accounts[0], token="t", sign_key="k")
    call = _driver(desc).prepare("transfer", s, to_account="6002", amount=Decimal("1.50"))
    assert call.json is not None and call.json["amount"] == Decimal("1.50")


# -- the sample's own declarations ----------------------------------------------------------------
def test_walletx_spec_declares_valid_test_data_matching_the_seed() -> None:
    spec = load_spec(WALLETX).spec
    secure, seed = _walletx("secure"), _walletx("seed")
    by_wallet = {h.wallet_no: h for h in seed.HOLDERS}
    for a in spec.driver.accounts:
        h = by_wallet[a.account_id]
        assert secure.luhn_ok(a.card_number) and secure.id_card_ok(a.id_number)
        assert (a.username, a.password, a.sign_secret, a.card_number, a.id_number, a.phone) == (
            h.login_name,
            h.credential,
            h.sign_key,
            h.bank_card_no,
            h.id_card_no,
            h.mobile,
        )
        assert a.balance == Decimal(h.balance_fen).scaleb(-2)
        assert len(a.password) >= spec.parameters.password_min_length
    assert [a.name for a in spec.driver.accounts if "lockout" in a.purposes] == ["wangwu"]


def test_walletx_spec_media_hash_is_current() -> None:
    r = harness_cli("spec", "hash", str(SAMPLE_DIR))
    assert r.returncode == 0, r.stderr
    assert load_spec(WALLETX).spec.media[0].sha256 == r.stdout.split()[0]


# -- the whole run -------------------------------------------------------------------------------
@pytest.mark.slow
def test_walletx_passes_every_check_through_its_spec_alone() -> None:
    r = harness_cli("run", str(WALLETX))
    log = r.stdout + r.stderr
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, log
    with session() as s:
        verdicts = list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
    assert verdicts, log
    bad = [(v.check_id, v.outcome, v.detail[:300]) for v in verdicts if v.outcome not in ("pass", "not_applicable")]
    assert not bad, bad
    unexplained = [v.check_id for v in verdicts if v.outcome == "not_applicable" and not (v.detail or "").strip()]
    assert not unexplained, unexplained
    assert any(v.outcome == "pass" for v in verdicts)
    assert "exit 0" in log
