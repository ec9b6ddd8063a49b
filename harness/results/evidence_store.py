"""The lab's evidence store: where evidence files live so that every lab host reaches them.

A check writes its evidence into the run folder of the host it runs on (harness.evidence); when
its verdict is recorded, each file goes into the store under its SHA-256 (the value the record
already keeps), before the verdict row is written, so a verdict in the record never names
content the store lacks. The report, wherever it is written or verified, first fetches the run's
missing files back by hash into that host's run folder (results.materialise_evidence), and then
works on that folder exactly as on a single machine.

HARNESS_EVIDENCE_STORE says where the store is:
- unset or empty: no store; evidence stays in the run folder (a single machine);
- a path (or file:///path): a folder every host mounts (NFS, SMB...): objects at sha256/ab/<hash>;
- s3://bucket[/prefix]: an S3-compatible object store (SeaweedFS, MinIO, Ceph RGW...), with
  HARNESS_S3_ENDPOINT (e.g. http://store.lab:8333) and the usual AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY for its credentials.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

from harness.errors import InputError, LabError


class EvidenceStoreError(LabError):
    """The evidence store cannot be reached or written, or gave back other content than was put."""


class EvidenceStore(Protocol):
    where: str  # for messages

    def put(self, path: Path, sha256: str) -> None:
        """Keep this file's content under its SHA-256 (nothing to do when the store has it)."""

    def get(self, sha256: str, dest: Path) -> bool:
        """Write the content with this SHA-256 to dest; False when the store does not have it."""


def _copy_checked(src: IO[bytes], dest: Path, sha256: str, where: str) -> None:
    """Copy into dest through a temporary file in its folder, checking the hash on the way: a
    half-written or altered object never takes a file's place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha256:
            raise EvidenceStoreError(f"the evidence store {where} gave other content for {sha256} ({h.hexdigest()})")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


class FolderStore:
    """A folder every host mounts. Objects are written once, atomically (rename), and never change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def _object(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def put(self, path: Path, sha256: str) -> None:
        obj = self._object(sha256)
        if obj.is_file():
            return
        try:
            with path.open("rb") as src:
                _copy_checked(src, obj, sha256, self.where)
        except OSError as e:
            raise EvidenceStoreError(f"the evidence store {self.where} cannot be written: {e.strerror or e}") from e

    def get(self, sha256: str, dest: Path) -> bool:
        try:
            with self._object(sha256).open("rb") as src:
                _copy_checked(src, dest, sha256, self.where)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise EvidenceStoreError(f"the evidence store {self.where} cannot be read: {e.strerror or e}") from e
        return True


class S3Store:
    """An S3-compatible object store (boto3). Objects are keyed <prefix>sha256/<hash>."""

    def __init__(self, bucket: str, prefix: str, endpoint: str | None) -> None:
        import boto3  # only a lab that uses S3 needs it loaded
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.where = f"s3://{bucket}/{prefix}" + (f" at {endpoint}" if endpoint else "")
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60),
        )

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}sha256/{sha256}"

    def put(self, path: Path, sha256: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            try:
                self._client.head_object(Bucket=self.bucket, Key=self._key(sha256))
                return
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
            self._client.upload_file(str(path), self.bucket, self._key(sha256))
        except (BotoCoreError, ClientError, OSError) as e:
            raise EvidenceStoreError(f"the evidence store {self.where} cannot be written: {e}") from e

    def get(self, sha256: str, dest: Path) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self._client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise EvidenceStoreError(f"the evidence store {self.where} cannot be read: {e}") from e
        except BotoCoreError as e:
            raise EvidenceStoreError(f"the evidence store {self.where} cannot be read: {e}") from e
        _copy_checked(obj["Body"], dest, sha256, self.where)
        return True


def configured_store() -> EvidenceStore | None:
    """The store HARNESS_EVIDENCE_STORE names, None when there is none (a single machine)."""
    return _store(os.environ.get("HARNESS_EVIDENCE_STORE", "").strip())


@lru_cache(maxsize=4)  # one client per store, not one per verdict
def _store(where: str) -> EvidenceStore | None:
    if not where:
        return None
    if where.startswith("s3://"):
        bucket, _, prefix = where.removeprefix("s3://").partition("/")
        if not bucket:
            raise InputError(f"HARNESS_EVIDENCE_STORE={where!r}: an S3 store is s3://bucket[/prefix]")
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        return S3Store(bucket, prefix, os.environ.get("HARNESS_S3_ENDPOINT") or None)
    path = Path(where.removeprefix("file://"))
    if not path.is_absolute():
        raise InputError(f"HARNESS_EVIDENCE_STORE={where!r}: a shared folder is an absolute path")
    return FolderStore(path)


def keep(store: EvidenceStore, run_dir: Path, files: list[tuple[str, str]]) -> None:
    """Put a verdict's evidence files (path relative to the run folder, SHA-256) into the store."""
    for rel, sha256 in files:
        store.put(run_dir / rel, sha256)


def fetch(store: EvidenceStore, run_dir: Path, files: list[tuple[str, str]]) -> list[str]:
    """Bring the files the record names into this host's run folder, by hash, where missing. A file
    that is there is left as it is, even if it differs: verify_run must still see a file changed
    after it was recorded. Returns one line per missing file the store does not have."""
    missing = []
    for rel, sha256 in files:
        dest = run_dir / rel
        if dest.exists() or dest.is_symlink():
            continue
        if not store.get(sha256, dest):
            missing.append(f"{rel}: not in the evidence store {store.where} (SHA-256 {sha256})")
    return missing


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["EvidenceStore", "EvidenceStoreError", "FolderStore", "S3Store", "configured_store", "fetch", "keep"]
