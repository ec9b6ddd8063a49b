"""The approved PDF's digital signature: PAdES (ETSI.CAdES.detached) with pyHanko, by the lab's
certificate and key named in the lab configuration. Any standard validator (Adobe, pyHanko, EU DSS)
can check it; a changed byte breaks it.

``make_test_certificate`` makes the lab-made test certificate setup uses until the lab installs its
own (the certification body must then be given the certificate to trust it). SM2 signatures are not
offered: pyHanko supports RSA, ECDSA and EdDSA only.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.config import LabIdentity
from harness.errors import LabError

FIELD = "LabSignature"


class SigningError(LabError):
    pass


def _signer(ident: LabIdentity) -> Any:
    from pyhanko.sign import signers

    sc = ident.signing
    cert, key = ident.resolve(sc.certificate), ident.resolve(sc.key)
    missing = [str(p) for p in (cert, key) if not p.is_file()]
    if missing:
        raise SigningError(
            f"the report-signing certificate or key named in {ident.path} is missing: {', '.join(missing)} "
            "(`harness lab init` makes a lab test certificate)"
        )
    passphrase = os.environ.get(sc.key_passphrase_env, "").encode() if sc.key_passphrase_env else None
    signer = signers.SimpleSigner.load(
        str(key),
        str(cert),
        ca_chain_files=tuple(str(ident.resolve(c)) for c in sc.chain),
        key_passphrase=passphrase or None,
    )
    if signer is None:
        raise SigningError(f"cannot load the report-signing key {key} with certificate {cert}")
    return signer


def sign_pdf(pdf: bytes, ident: LabIdentity, reason: str, name: str) -> bytes:
    """The PDF with the lab's PAdES signature appended (an incremental update)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        reason=reason,
        location=ident.location,
        name=name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    signer = _signer(ident)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = signers.sign_pdf(writer, meta, signer=signer)
    except Exception as e:  # pyHanko's errors are many; each is the lab's fault here
        raise SigningError(f"the report PDF could not be signed: {type(e).__name__}: {e}") from e
    return bytes(out.getvalue())


@dataclass(frozen=True)
class SignatureCheck:
    present: bool
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the signature verifies and its certificate chains to a trusted one
    covers_whole_file: bool
    signer: str
    summary: str

    @property
    def ok(self) -> bool:
        return self.present and self.intact and self.valid and self.covers_whole_file


def verify_pdf(pdf: bytes, trusted_certificates: list[Path]) -> SignatureCheck:
    """Validate the report's signature with pyHanko's validator against the given trust anchors."""
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = []
    for p in trusted_certificates:
        data = p.read_bytes()
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        roots.append(x509.Certificate.load(data))
    try:
        sigs = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    except Exception as e:  # noqa: BLE001 - a damaged file is a failed check, not a crash
        return SignatureCheck(False, False, False, False, "", f"not a readable PDF: {e}")
    if not sigs:
        return SignatureCheck(False, False, False, False, "", "no signature")
    try:
        st = validate_pdf_signature(sigs[-1], ValidationContext(trust_roots=roots, allow_fetching=False))
    except Exception as e:  # noqa: BLE001 - pyHanko raises on a mangled signature structure
        return SignatureCheck(True, False, False, False, "", f"the signature cannot be validated: {e}")
    whole = st.coverage == SignatureCoverageLevel.ENTIRE_FILE
    signer = st.signing_cert.subject.human_friendly if st.signing_cert is not None else ""
    return SignatureCheck(True, bool(st.intact), bool(st.valid and st.trusted), whole, signer, st.summary())


def make_test_certificate(directory: Path, common_name: str, organisation: str) -> tuple[Path, Path]:
    """A self-signed report-signing certificate and its key (PEM), valid three years: a lab test
    certificate, for a lab without one from a CA yet."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "lab-report-signing.crt.pem", directory / "lab-report-signing.key.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(key_path, 0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
