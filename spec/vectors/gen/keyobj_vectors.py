#!/usr/bin/env python3
"""Writes spec/vectors/keyobj.json from spec/client-crypto.md 2.1 and 8.

Independent of client/keyobj.c and client/crypto.c: Argon2id from
pyca/cryptography, BLAKE2b from hashlib, XChaCha20-Poly1305 from xchacha.py
(HChaCha20 written out there + pyca's ChaCha20-Poly1305), crypto_kdf as keyed BLAKE2b
with salt and personal.

    python3 spec/vectors/gen/keyobj_vectors.py > spec/vectors/keyobj.json
"""
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from xchacha import xchacha_seal

CHECK = b"VAULTCFG check value, version 1\n"


def xseal(key, nonce, ad, pt):
    return xchacha_seal(key, nonce, ad, pt)


def subkey(master, i):
    """crypto_kdf_derive_from_key(32, i, "vaultkey", master)."""
    return hashlib.blake2b(b"", digest_size=32, key=master, salt=struct.pack("<Q", i) + b"\0" * 8,
                           person=b"vaultkey" + b"\0" * 8).digest()


def argon2id(pw, salt, ops, mem):
    return Argon2id(salt=salt, length=32, iterations=ops, lanes=1,
                    memory_cost=mem // 1024).derive(pw)


def config2(master, nonce):
    hdr = b"VAULTCFG" + bytes([2])
    body = hdr + nonce + xseal(subkey(master, 4), nonce, hdr, CHECK)
    return body + hashlib.blake2b(body, digest_size=32).digest()


def keyobj(kind, secret, ops, mem, salt, master, nonce, info_nonce, created, label):
    hdr = b"VAULTKEY" + bytes([1, kind]) + struct.pack("<QQ", ops, mem) + salt
    if kind == 1:
        kek = argon2id(secret, salt, ops, mem)
    else:
        kek = hashlib.blake2b(b"vault recovery key v1" + salt, digest_size=32, key=secret).digest()
    out = hdr + nonce + xseal(kek, nonce, hdr, master) + info_nonce
    info = struct.pack("<q", created) + label.encode().ljust(64, b"\0")
    return out + xseal(subkey(master, 6), info_nonce, out, info)


def main():
    master = bytes(range(0x80, 0xa0))
    cfg_nonce = bytes(range(0x10, 0x28))
    keys = []
    for note, kind, secret, ops, mem, label in [
            ("a passphrase key, MIN limits", 1, b"correct horse", 1, 8192, "alice@laptop"),
            ("an empty label", 1, b"\xff\x00pass", 2, 16384, ""),
            ("a recovery key", 2, bytes(range(32)), 0, 0, "recovery")]:
        salt = hashlib.sha256(note.encode()).digest()[:16]
        nonce = hashlib.sha256(b"n" + note.encode()).digest()[:24]
        info_nonce = hashlib.sha256(b"i" + note.encode()).digest()[:24]
        obj = keyobj(kind, secret, ops, mem, salt, master, nonce, info_nonce, 1700000000, label)
        assert len(obj) == 226
        keys.append({"note": note, "type": kind, "secret_hex": secret.hex(), "opslimit": ops,
                     "memlimit": mem, "salt_hex": salt.hex(), "nonces_hex": (nonce + info_nonce).hex(),
                     "created": 1700000000, "label": label, "object_hex": obj.hex(),
                     "wrong_secret_hex": (secret + b"x").hex()})
    doc = {
        "note": "spec/client-crypto.md 2.1 and 8; master_key_hex is wrapped by every key",
        "master_key_hex": master.hex(),
        "config2": {"nonce_hex": cfg_nonce.hex(), "blob_hex": config2(master, cfg_nonce).hex()},
        "keys": keys,
        "recovery_text": {"text": "00010203-04050607-08090A0B-0c0d0e0f-10111213-14151617-"
                                  "18191a1b-1c1d1e1f", "key_hex": bytes(range(32)).hex()},
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
