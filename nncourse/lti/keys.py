"""The tool's RSA key pair: ``nncourse lti keys`` writes it into the course's LTI_KEYS_DIR
(``lti_keys/`` by default), which is git-ignored twice (the course's .gitignore and a
``.gitignore`` of ``*`` inside the folder), so the private key is never committed.  The
platform reads the public half from the tool's JWKS URL; the private key signs the tool's
service requests (AGS, NRPS).  A key pair is never overwritten: ``rotate`` keeps the old
private key as ``private.<time>.pem`` beside the new one."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..core.course import Course, CourseError
from ..core.files import atomic_write

PRIVATE = "private.pem"
PUBLIC = "public.pem"
KEY_BITS = 2048


@dataclass(frozen=True)
class KeyPair:
    folder: Path
    private_pem: str     # never printed, logged or sent
    public_pem: str

    def __repr__(self) -> str:      # a stray print or log of the object shows no key
        return f"KeyPair({self.folder})"


def keys_dir(course: Course) -> Path:
    """The folder of the tool's key pair (LTI_KEYS_DIR, relative to the course)."""
    return course.root / str(course.setting("LTI_KEYS_DIR"))


def generate(course: Course, rotate: bool = False) -> Path:
    """Write a new key pair into ``keys_dir(course)``; returns the folder.  CourseError when a
    pair is there already and ``rotate`` is not set (the platform trusts that key)."""
    folder = keys_dir(course)
    private = folder / PRIVATE
    if private.exists() and not rotate:
        raise CourseError(f"the tool's key pair exists already in {folder}; the platform "
                          "trusts it.  Use `nncourse lti keys --rotate` to make a new one "
                          "(the old private key is kept beside it)")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    atomic_write(folder / ".gitignore", "# the LTI tool's keys: never commit them\n*\n")
    if private.exists():
        os.replace(private, folder / f"private.{time.strftime('%Y%m%dT%H%M%S')}.pem")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    old_umask = os.umask(0o077)      # the private key is readable by its owner only
    try:
        atomic_write(private, private_pem)
    finally:
        os.umask(old_umask)
    os.chmod(private, 0o600)
    atomic_write(folder / PUBLIC, public_pem)
    return folder


def load(course: Course) -> KeyPair:
    """The tool's key pair; CourseError saying how to make one when it is missing."""
    folder = keys_dir(course)
    try:
        return KeyPair(folder, (folder / PRIVATE).read_text(encoding="ascii"),
                       (folder / PUBLIC).read_text(encoding="ascii"))
    except FileNotFoundError:
        raise CourseError(f"no LTI key pair in {folder}: run `nncourse lti keys` first") from None
