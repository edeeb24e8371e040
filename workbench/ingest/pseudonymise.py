"""Keyed pseudonyms (HMAC-SHA256) that replace direct identifiers before anything is stored.

The key never lives in the repository. It comes from, in order:
1. the environment variable ``WORKBENCH_PSEUDONYMISATION_KEY`` (at least 32 characters), or
2. a key file named by ``--key-file`` or ``WORKBENCH_KEY_FILE`` (outside the repository); given
   with the environment variable, it must hold the same key, or the ingest is refused; or
3. for the synthetic county only, a generated demo key written next to the store and labelled
   ``DEMO KEY - SYNTHETIC DATA ONLY``. Real extracts are refused with a demo key.

Without the key a pseudonym cannot be reversed or recomputed from a name and date of birth, so a
person's records can be joined across tables but not traced back to them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KEY_ENV = "WORKBENCH_PSEUDONYMISATION_KEY"
KEY_FILE_ENV = "WORKBENCH_KEY_FILE"
DEMO_LABEL = "DEMO KEY - SYNTHETIC DATA ONLY"
MIN_KEY_CHARS = 32
_BLOCK = 64  # SHA-256's block size in bytes (HMAC pads the key to it)
PSEUDONYM_HEX_CHARS = 20  # 80 bits: collisions are negligible at national scale


class PseudonymKeyError(Exception):
    """The pseudonymisation key is missing, too short, or not allowed for this data."""


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    is_demo: bool
    origin: str  # where the key came from, for the provenance record (never the key itself)

    def pseudonym(self, namespace: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{namespace}\x1f{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_HEX_CHARS]

    def pseudonyms(self, namespace: str, values: Iterable[object]) -> list[str | None]:
        """Pseudonymise many values; missing values stay missing."""
        # HMAC-SHA256 (RFC 2104) from two hash states made once, the inner one after the key and the
        # namespace, copied per value: the same digests as :meth:`pseudonym` (tested), in 0.6 of the
        # time of a new or copied ``hmac`` object, most of the ingest's person-id step.
        key = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        key = key.ljust(_BLOCK, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + f"{namespace}\x1f".encode()).copy
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy
        out: list[str | None] = []
        add = out.append
        for v in values:
            if v is None or v != v:  # None or NaN/NA
                add(None)
                continue
            i = inner()
            i.update(str(v).encode())
            o = outer()
            o.update(i.digest())
            add(o.hexdigest()[:PSEUDONYM_HEX_CHARS])
        return out

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible tag of the key, so ingests with different keys can be told apart."""
        return hashlib.sha256(b"fingerprint" + self.secret).hexdigest()[:12]


def _inside_git_repository(path: Path) -> bool:
    try:
        out = subprocess.run(
            ["git", "-C", str(path.parent), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, check=False,
        )
    except OSError:
        return False
    return out.returncode == 0


def _read_key_text(text: str, origin: str) -> bytes:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    secret = lines[-1] if lines else ""
    if len(secret) < MIN_KEY_CHARS:
        raise PseudonymKeyError(f"The pseudonymisation key from {origin} is too short: it needs at least {MIN_KEY_CHARS} characters.")
    return secret.encode()


def load_key(key_file: str | Path | None = None) -> PseudonymKey:
    """The organisation's key, from the environment or a key file outside the repository.

    When both are given they must hold the same key: a quarter pseudonymised with the wrong one would
    give no person their earlier pseudonym, so a difference is refused rather than one silently
    overriding the other."""
    key_file = key_file or os.environ.get(KEY_FILE_ENV)
    from_file = _key_from_file(key_file) if key_file else None
    if os.environ.get(KEY_ENV):
        key = PseudonymKey(_read_key_text(os.environ[KEY_ENV], f"${KEY_ENV}"), False, f"environment {KEY_ENV}")
        if from_file is not None and not hmac.compare_digest(from_file.secret, key.secret):
            raise PseudonymKeyError(
                f"${KEY_ENV} and the {from_file.origin} hold different keys. Use one of them: unset "
                f"{KEY_ENV}, or leave out --key-file (and {KEY_FILE_ENV})."
            )
        return key
    if from_file is None:
        raise PseudonymKeyError(
            f"No pseudonymisation key. Set {KEY_ENV}, or give --key-file (or {KEY_FILE_ENV}) naming a key "
            "file kept outside the repository. Your information governance lead holds the key. "
            "Create one with: workbench make-key PATH"
        )
    return from_file


def read_key_file(key_file: str | Path) -> PseudonymKey:
    """The key in one key file, ignoring the environment (re-keying names both keys explicitly)."""
    return _key_from_file(key_file)


def _key_from_file(key_file: str | Path) -> PseudonymKey:
    path = Path(key_file).expanduser().resolve()
    if not path.exists():
        raise PseudonymKeyError(f"The key file {path} does not exist.")
    if _inside_git_repository(path):
        raise PseudonymKeyError(f"The key file {path} is inside a git repository; keep keys outside any repository.")
    text = path.read_text(encoding="utf-8")
    if DEMO_LABEL in text:
        raise PseudonymKeyError(f"{path} is a demo key for synthetic data; it cannot be used for real extracts.")
    return PseudonymKey(_read_key_text(text, str(path)), False, f"key file {path.name}")


def demo_key(data_dir: str | Path) -> PseudonymKey:
    """The demo key for the synthetic county, created on first use in the data directory."""
    path = Path(data_dir) / "DEMO-synthetic-only.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {DEMO_LABEL}\n# Generated for the synthetic county; never use it for real data.\n{secrets.token_hex(32)}\n")
    return PseudonymKey(_read_key_text(path.read_text(), str(path)), True, DEMO_LABEL)


def write_new_key(path: str | Path) -> Path:
    """Write a fresh random key for real use (the information governance lead keeps it)."""
    path = Path(path).expanduser().resolve()
    if path.exists():
        raise PseudonymKeyError(f"{path} already exists; not overwritten.")
    if _inside_git_repository(path):
        raise PseudonymKeyError(f"{path} is inside a git repository; keep keys outside any repository.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Oxfordshire workbench pseudonymisation key. Keep secret; do not commit.\n{secrets.token_hex(32)}\n")
    path.chmod(0o600)
    return path
