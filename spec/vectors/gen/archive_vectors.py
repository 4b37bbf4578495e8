#!/usr/bin/env python3
"""Writes spec/vectors/archive.json: one cartridge of the archive backend
(spec/tiering.md, "The archive backend") built here, independently of
vaultd/backend_archive.c, from the byte tables in the spec: the index log
(16-byte header, then put and dead records each closed by a 16-byte
BLAKE2b check) and the segment (the objects' bytes back to back).

    python3 spec/vectors/gen/archive_vectors.py > spec/vectors/archive.json
"""
import hashlib
import json
import struct

MAGIC = b"vaultarc"
PUT, DEAD = 0x01, 0x02


def header(cart):
    return MAGIC + bytes([1, 0, 0, 0]) + struct.pack("<I", cart)


def record(rtype, key, off, length):
    k = key.encode()
    body = bytes([rtype, len(k)]) + struct.pack("<QQ", off, length) + k
    return body + hashlib.blake2b(body, digest_size=16).digest()


def main():
    ops = [("put", "v/pack/ab/one", "first object"),
           ("put", "v/two", "second"),
           ("put", "v/three", "third one"),
           ("remove", "v/two", None),
           ("put", "v/pack/ab/one", "overwritten")]
    idx = header(1)
    seg = b""
    live = {}
    for op, key, data in ops:
        if op == "put":
            d = data.encode()
            idx += record(PUT, key, len(seg), len(d))
            live[key] = (len(seg), len(d), data)
            seg += d
        else:
            off, length, _ = live.pop(key)
            idx += record(DEAD, key, off, length)
    keys = ["v/pack/ab/one", "v/two", "v/three"]
    doc = {
        "description": "one cartridge of the archive backend (spec/tiering.md); "
                       "ops replayed in order give idx_hex and seg_hex",
        "ops": [{"op": o, "key": k, **({"data": d} if d is not None else {})}
                for o, k, d in ops],
        "idx_hex": idx.hex(),
        "seg_hex": seg.hex(),
        "objects": [{"key": k, "data": live[k][2] if k in live else None} for k in keys],
        "live": len(live),
    }
    print(json.dumps(doc, indent=2))


main()
