#!/usr/bin/env python3
"""Generates spec/vectors/scrub-records.json: the bytes of the records of the
LMDB database "scrub" (spec/storage.md, "Scrub"), written from the tables
there, independently of vaultd/meta_scrub.c.

    python3 spec/vectors/gen/scrub_records.py > spec/vectors/scrub-records.json
"""
import hashlib
import json
import struct


def bad_key(vault, kind, oid, backend):
    return struct.pack(">BQB", 0x01, vault, kind) + oid + struct.pack("B", backend)


def bad_val(time, reason):
    r = reason.encode()
    assert len(r) <= 120
    return struct.pack("<BQB", 1, time, len(r)) + r


def vault_key(vault):
    return struct.pack(">BQ", 0x02, vault)


def vault_val(last_full, last_run, copies, nbytes, bad, repaired):
    return struct.pack("<BQQQQQQ", 1, last_full, last_run, copies, nbytes, bad, repaired)


def main():
    out = []
    for vault, kind, seed, backend, time, reason in [
        (1, 0, b"pack", 0, 1700000000, "SHA-256 mismatch: the bytes do not hash to the ID"),
        (0x0102030405060708, 2, b"snap", 31, 0, ""),
        (7, 0x80, b"config", 3, 0xFFFFFFFFFFFFFFFF, "the copy is missing"),
    ]:
        oid = hashlib.sha256(seed).digest()
        out.append({"type": "bad", "vault": vault, "kind": kind, "id": oid.hex(),
                    "backend": backend, "time": str(time), "reason": reason,
                    "key": bad_key(vault, kind, oid, backend).hex(),
                    "value": bad_val(time, reason).hex()})
    for vault, fields in [(1, (1700000100, 1700000100, 9, 3171184, 3, 2)),
                          (0xFFFFFFFF, (0, 1700000200, 0, 0, 0, 0))]:
        out.append({"type": "vault", "vault": vault, "last_full": fields[0],
                    "last_run": fields[1], "copies": fields[2], "bytes": fields[3],
                    "bad": fields[4], "repaired": fields[5],
                    "key": vault_key(vault).hex(), "value": vault_val(*fields).hex()})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
