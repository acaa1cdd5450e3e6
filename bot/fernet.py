"""Fernet tokens, the format of `cryptography.fernet`, on the OpenSSL Python's `ssl` loaded (issue 13).

The `cryptography` package links a second OpenSSL into its Rust extension: importing it cost the serving
process about 7 MiB resident, to decrypt a Zoom token per meeting. A token is version 0x80, an 8-byte
big-endian timestamp, a 16-byte IV, the AES-128-CBC ciphertext of the PKCS7-padded plaintext, and an
HMAC-SHA256 of all that, in URL-safe base64; a key is 32 bytes in URL-safe base64, the first half signs, the
second encrypts. Only AES needs OpenSSL: `libcrypto()` finds the library `hashlib` loaded, and where there is
none to find (not Linux, OpenSSL linked into Python itself) AES comes from `cryptography` after all.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import hashlib
import hmac
import os
import struct
import time
from collections.abc import Callable, Sequence
from functools import cache

VERSION = 0x80
BLOCK = 16
_HEADER = struct.Struct(">BQ")  # version, timestamp
_MAC = 32

# AES-128-CBC without padding: (key, iv, data, encrypt) -> data
Cbc = Callable[[bytes, bytes, bytes, bool], bytes]


class InvalidToken(Exception):
    """The token is malformed, was changed, or was made with another key."""


def generate_key() -> bytes:
    return base64.urlsafe_b64encode(os.urandom(32))


class Fernet:
    """One key: `cryptography.fernet.Fernet`'s encrypt and decrypt, without a time to live."""

    def __init__(self, key: bytes | str, cbc: Cbc | None = None) -> None:
        try:
            raw = base64.urlsafe_b64decode(key)
        except binascii.Error as exc:
            raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.") from exc
        if len(raw) != 32:
            raise ValueError("Fernet key must be 32 url-safe base64-encoded bytes.")
        self._signing, self._encryption = raw[:16], raw[16:]
        self._cbc = cbc or aes_cbc()

    def encrypt(self, data: bytes) -> bytes:
        return self.encrypt_at_time(data, int(time.time()))

    def encrypt_at_time(self, data: bytes, current_time: int) -> bytes:
        iv = os.urandom(BLOCK)
        pad = BLOCK - len(data) % BLOCK
        body = _HEADER.pack(VERSION, current_time) + iv
        body += self._cbc(self._encryption, iv, data + bytes([pad]) * pad, True)
        return base64.urlsafe_b64encode(body + self._mac(body))

    def decrypt(self, token: bytes | str) -> bytes:
        return self.decrypt_with_time(token)[0]

    def decrypt_with_time(self, token: bytes | str) -> tuple[bytes, int]:
        """The plaintext and the time the token was made; InvalidToken unless its MAC is this key's."""
        data = _unverified(token)
        if not hmac.compare_digest(self._mac(data[:-_MAC]), data[-_MAC:]):
            raise InvalidToken
        ciphertext = data[_HEADER.size + BLOCK : -_MAC]
        if not ciphertext or len(ciphertext) % BLOCK:
            raise InvalidToken
        iv = data[_HEADER.size : _HEADER.size + BLOCK]
        padded = self._cbc(self._encryption, iv, ciphertext, False)
        pad = padded[-1]
        if not 1 <= pad <= BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise InvalidToken
        return padded[:-pad], _HEADER.unpack_from(data)[1]

    def _mac(self, data: bytes) -> bytes:
        return hmac.digest(self._signing, data, hashlib.sha256)


class MultiFernet:
    """Several keys: the first encrypts, each decrypts; `rotate` re-encrypts with the first, same time."""

    def __init__(self, fernets: Sequence[Fernet]) -> None:
        if not fernets:
            raise ValueError("MultiFernet requires at least one Fernet instance")
        self._fernets = list(fernets)

    def encrypt(self, data: bytes) -> bytes:
        return self._fernets[0].encrypt(data)

    def decrypt(self, token: bytes | str) -> bytes:
        return self._decrypt_with_time(token)[0]

    def rotate(self, token: bytes | str) -> bytes:
        plaintext, made = self._decrypt_with_time(token)
        return self._fernets[0].encrypt_at_time(plaintext, made)

    def _decrypt_with_time(self, token: bytes | str) -> tuple[bytes, int]:
        for fernet in self._fernets:
            try:
                return fernet.decrypt_with_time(token)
            except InvalidToken:
                pass
        raise InvalidToken


def _unverified(token: bytes | str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(token)
    except (TypeError, binascii.Error) as exc:
        raise InvalidToken from exc
    if len(data) < _HEADER.size + BLOCK + _MAC or data[0] != VERSION:
        raise InvalidToken
    return data


@cache
def aes_cbc() -> Cbc:
    """AES-CBC from the libcrypto Python's `hashlib` loaded, else from `cryptography`."""
    library = libcrypto()
    return _openssl_cbc(library) if library is not None else _cryptography_cbc


def libcrypto() -> ctypes.CDLL | None:
    """The libcrypto already mapped into this process by `hashlib` (Linux), with the calls AES-CBC needs."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/libcrypto.so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            return _declare(ctypes.CDLL(path))
        except (OSError, AttributeError):  # not loadable after all, or an OpenSSL without these calls
            continue
    return None


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    pointer, buffer, size = ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)
    lib.EVP_CIPHER_CTX_new.restype = pointer
    lib.EVP_CIPHER_CTX_new.argtypes = []
    lib.EVP_CIPHER_CTX_free.argtypes = [pointer]
    lib.EVP_CIPHER_CTX_free.restype = None
    lib.EVP_aes_128_cbc.restype = pointer
    lib.EVP_aes_128_cbc.argtypes = []
    lib.EVP_CipherInit_ex.argtypes = [pointer, pointer, pointer, buffer, buffer, ctypes.c_int]
    lib.EVP_CIPHER_CTX_set_padding.argtypes = [pointer, ctypes.c_int]
    lib.EVP_CipherUpdate.argtypes = [pointer, buffer, size, buffer, ctypes.c_int]
    lib.EVP_CipherFinal_ex.argtypes = [pointer, buffer, size]
    return lib


def _openssl_cbc(lib: ctypes.CDLL) -> Cbc:
    cipher = lib.EVP_aes_128_cbc()

    def cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
        context = lib.EVP_CIPHER_CTX_new()
        if not context:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        try:
            out = ctypes.create_string_buffer(len(data) + BLOCK)
            rest = ctypes.create_string_buffer(BLOCK)  # no padding: nothing is left for the final call
            written, tail = ctypes.c_int(0), ctypes.c_int(0)
            ok = (
                lib.EVP_CipherInit_ex(context, cipher, None, key, iv, int(encrypt)) == 1
                and lib.EVP_CIPHER_CTX_set_padding(context, 0) == 1
                and lib.EVP_CipherUpdate(context, out, ctypes.byref(written), data, len(data)) == 1
                and lib.EVP_CipherFinal_ex(context, rest, ctypes.byref(tail)) == 1
            )
            if not ok or tail.value:
                raise InvalidToken
            return out.raw[: written.value]
        finally:
            lib.EVP_CIPHER_CTX_free(context)

    return cbc


def _cryptography_cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    work = cipher.encryptor() if encrypt else cipher.decryptor()
    return work.update(data) + work.finalize()
