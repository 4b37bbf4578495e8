#!/usr/bin/env python3
"""Test vectors for spec/pack.md: packs and index segments.

Written from the spec, independently of client/pack.c: hashlib for BLAKE2b
and SHA-256, pyca/cryptography's ChaCha20-Poly1305 and a pure-Python
HChaCha20 for XChaCha20-Poly1305. The keys are those of kdf[0] of
spec/vectors/client-crypto.json; the chunks are sealed raw (flags 0) from
incompressible plaintexts, so no zstd is needed and vc_seal reproduces them.

    python3 spec/vectors/gen/pack_vectors.py > spec/vectors/pack.json
"""
import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

HERE = os.path.dirname(os.path.abspath(__file__))
CRYPTO_JSON = os.path.join(HERE, "..", "client-crypto.json")

PACK_MAGIC = b"VAULTPAK"
MAP_MAGIC = b"VAULTMAP"
INDEX_MAGIC = b"VAULTIDX"
VERSION = 1
HEADER = PACK_MAGIC + bytes([VERSION])
INDEX_HEADER = INDEX_MAGIC + bytes([VERSION])
CHUNK_MAX = 16 << 20
CHUNK_OVERHEAD = 41
PACK_CHUNKS_MAX = 1 << 20


def rotl32(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl32(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha section 2.2)."""
    s = list(struct.unpack("<4I", b"expand 32-byte k"))
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        quarter(s, 0, 4, 8, 12); quarter(s, 1, 5, 9, 13)
        quarter(s, 2, 6, 10, 14); quarter(s, 3, 7, 11, 15)
        quarter(s, 0, 5, 10, 15); quarter(s, 1, 6, 11, 12)
        quarter(s, 2, 7, 8, 13); quarter(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xaead(key, nonce, ad, msg):
    """XChaCha20-Poly1305 (IETF): ciphertext then the 16-byte tag."""
    assert len(key) == 32 and len(nonce) == 24
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0" * 4 + nonce[16:], msg, ad)


def xaead_open(key, nonce, ad, ct):
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\0" * 4 + nonce[16:], ct, ad)


def stream(label, n):
    """Deterministic incompressible bytes."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(label.encode() + struct.pack("<I", i)).digest()
        i += 1
    return out[:n]


def chunk_id(keys, plain):
    return hashlib.blake2b(plain, key=keys["mac"], digest_size=32).digest()


def seal_raw(keys, cid, plain, nonce):
    """spec/client-crypto.md 5 with flags 0."""
    ck = hashlib.blake2b(cid, key=keys["chunk"], digest_size=32).digest()
    return b"\x00" + nonce + xaead(ck, nonce, cid + b"\x00", plain)


def entry(t, cid, off, sealed_len, plain_len):
    return struct.pack("<B32sIII", t, cid, off, sealed_len, plain_len)


def map_plain(entries):
    return struct.pack("<I", len(entries)) + b"".join(entry(*e) for e in entries)


def pack_bytes(keys, blobs, map_pt, map_nonce, header=HEADER, trailer_magic=MAP_MAGIC,
               m_delta=0):
    sealed_map = map_nonce + xaead(keys["index"], map_nonce, HEADER, map_pt)
    return (header + b"".join(blobs) + sealed_map +
            struct.pack("<I", len(sealed_map) + m_delta) + trailer_magic)


def segment_bytes(keys, plain, nonce, header=INDEX_HEADER):
    return header + nonce + xaead(keys["index"], nonce, INDEX_HEADER, plain)


def segment_plain(groups):
    out = struct.pack("<I", len(groups))
    for pid, entries in groups:
        out += pid + struct.pack("<I", len(entries)) + b"".join(entry(*e) for e in entries)
    return out


def fixed_nonce(tag):
    return hashlib.sha256(b"pack vector nonce " + tag.encode()).digest()[:24]


def build_pack(keys, name, chunks):
    """chunks: list of (type, plaintext). Returns the vector and its entries."""
    blobs, entries, cv = [], [], []
    off = len(HEADER)
    for i, (t, plain) in enumerate(chunks):
        cid = chunk_id(keys, plain)
        nonce = fixed_nonce("%s chunk %d" % (name, i))
        blob = seal_raw(keys, cid, plain, nonce)
        blobs.append(blob)
        entries.append((t, cid, off, len(blob), len(plain)))
        cv.append({"type": t, "plain_hex": plain.hex(), "nonce_hex": nonce.hex(),
                   "chunk_id_hex": cid.hex(), "sealed_hex": blob.hex()})
        off += len(blob)
    map_nonce = fixed_nonce("%s map" % name)
    pk = pack_bytes(keys, blobs, map_plain(entries), map_nonce)
    check_pack(keys, pk, entries)
    vec = {
        "name": name, "chunks": cv, "map_nonce_hex": map_nonce.hex(),
        "entries": [{"type": e[0], "chunk_id_hex": e[1].hex(), "offset": e[2],
                     "sealed_len": e[3], "plain_len": e[4]} for e in entries],
        "pack_hex": pk.hex(), "pack_id_hex": hashlib.sha256(pk).hexdigest(),
    }
    return vec, entries, blobs


def check_pack(keys, pk, entries):
    """Reads pk back as spec/pack.md says, as a check of this script."""
    assert pk[:9] == HEADER and pk[-8:] == MAP_MAGIC
    m = struct.unpack("<I", pk[-12:-8])[0]
    sm = pk[len(pk) - 12 - m:len(pk) - 12]
    pt = xaead_open(keys["index"], sm[:24], HEADER, sm[24:])
    assert pt == map_plain(entries)


def bad_packs(keys, blobs, entries):
    """Packs whose maps are authentic but inconsistent, and other damage."""
    out = []
    n = lambda tag: fixed_nonce("bad pack " + tag)

    def add(name, error, pk):
        out.append({"name": name, "error": error, "pack_hex": pk.hex()})

    def with_entries(name, ents, bl=blobs, error="corrupt"):
        add(name, error, pack_bytes(keys, bl, map_plain(ents), n(name)))

    e = entries
    pt = struct.pack("<I", len(e) + 1) + map_plain(e)[4:]
    add("count one more than the entries", "corrupt", pack_bytes(keys, blobs, pt, n("c+1")))
    pt = struct.pack("<I", len(e) - 1) + map_plain(e)[4:]
    add("count one less than the entries", "corrupt", pack_bytes(keys, blobs, pt, n("c-1")))
    add("trailing byte in the map plaintext", "corrupt",
        pack_bytes(keys, blobs, map_plain(e) + b"\0", n("trail")))
    add("map plaintext of 3 bytes", "corrupt", pack_bytes(keys, [], b"\0\0\0", n("short")))
    add("count over VC_PACK_CHUNKS_MAX", "corrupt",
        pack_bytes(keys, [], struct.pack("<I", PACK_CHUNKS_MAX + 1), n("max")))
    t0, c0, o0, s0, p0 = e[0]
    with_entries("first blob at offset 10", [(t0, c0, o0 + 1, s0 - 1, p0)] + e[1:])
    with_entries("gap between blobs", [e[0], (e[1][0], e[1][1], e[1][2] + 1, e[1][3] - 1,
                                               e[1][4])] + e[2:])
    with_entries("blobs overlap", [(t0, c0, o0, s0 + 1, p0)] + [
        (t, c, o, s, p) for (t, c, o, s, p) in e[1:]])
    with_entries("blobs end before the map", e[:-1])
    with_entries("blobs run into the map",
                 e[:-1] + [(e[-1][0], e[-1][1], e[-1][2], e[-1][3] + 1, e[-1][4])])
    with_entries("unknown chunk type 2", [(2, c0, o0, s0, p0)] + e[1:])
    with_entries("plain length over VC_CHUNK_MAX", [(t0, c0, o0, s0, CHUNK_MAX + 1)] + e[1:])
    # Two blobs of 20 bytes each: contiguous, but shorter than a sealed chunk.
    raw = b"\x55" * 40
    with_entries("sealed length under 41", [(0, c0, 9, 20, 0), (0, c0, 29, 20, 0)], bl=[raw])
    good = pack_bytes(keys, blobs, map_plain(e), n("good"))
    add("trailer magic VAULTMAQ", "corrupt", good[:-1] + b"Q")
    add("trailer M larger than the pack", "corrupt",
        pack_bytes(keys, blobs, map_plain(e), n("good"), m_delta=len(good)))
    add("trailer M one too small (the map seems to start a byte late)", "auth",
        pack_bytes(keys, blobs, map_plain(e), n("good"), m_delta=-1))
    add("header version 2", "unsupported",
        pack_bytes(keys, blobs, map_plain(e), n("good"), header=PACK_MAGIC + b"\x02"))
    add("header magic VAULTPAC", "corrupt",
        pack_bytes(keys, blobs, map_plain(e), n("good"), header=b"VAULTPAC\x01"))
    add("flipped tag byte", "auth", good[:-13] + bytes([good[-13] ^ 1]) + good[-12:])
    add("truncated to 64 bytes", "corrupt", good[:64])
    return out


def bad_segments(keys, groups):
    out = []

    def add(name, error, seg):
        out.append({"name": name, "error": error, "segment_hex": seg.hex()})

    def with_plain(name, pt, error="corrupt"):
        add(name, error, segment_bytes(keys, pt, fixed_nonce("bad segment " + name)))

    pt = segment_plain(groups)
    with_plain("P one more than the groups", struct.pack("<I", len(groups) + 1) + pt[4:])
    with_plain("P one less than the groups", struct.pack("<I", len(groups) - 1) + pt[4:])
    with_plain("trailing byte", pt + b"\0")
    with_plain("plaintext of 3 bytes", b"\0\0\0")
    with_plain("P over VC_INDEX_PACKS_MAX", struct.pack("<I", (1 << 20) + 1))
    pid, ents = groups[0]
    with_plain("N over VC_PACK_CHUNKS_MAX",
               struct.pack("<I", 1) + pid + struct.pack("<I", PACK_CHUNKS_MAX + 1))
    with_plain("N one more than the entries",
               struct.pack("<I", 1) + pid + struct.pack("<I", len(ents) + 1) +
               b"".join(entry(*x) for x in ents))
    with_plain("pack listed twice", segment_plain([groups[0], groups[0]]))
    t0, c0, o0, s0, p0 = ents[0]
    with_plain("first blob at offset 10",
               segment_plain([(pid, [(t0, c0, 10, s0, p0)] + ents[1:])]))
    with_plain("gap between blobs",
               segment_plain([(pid, [(t0, c0, o0, s0 - 1, p0)] + ents[1:])]))
    with_plain("unknown chunk type 7", segment_plain([(pid, [(7, c0, o0, s0, p0)])]))
    with_plain("sealed length under 41", segment_plain([(pid, [(t0, c0, 9, 40, 0)])]))
    with_plain("plain length over VC_CHUNK_MAX",
               segment_plain([(pid, [(t0, c0, o0, s0, CHUNK_MAX + 1)])]))
    # Blobs that fit le32 offsets but not a pack of at most 2^30 bytes.
    big = (1 << 30) - 9
    with_plain("blobs past VC_PACK_SIZE_MAX", segment_plain([(pid, [(0, c0, 9, big, 0)])]))
    good = segment_bytes(keys, pt, fixed_nonce("good segment"))
    add("version 2", "unsupported", INDEX_MAGIC + b"\x02" + good[9:])
    add("magic VAULTIDY", "corrupt", b"VAULTIDY" + good[8:])
    add("flipped ciphertext byte", "auth", good[:40] + bytes([good[40] ^ 0x80]) + good[41:])
    add("truncated by one byte", "auth", good[:-1])
    add("52 bytes", "corrupt", good[:52])
    add("8 bytes", "corrupt", good[:8])
    return out


def main():
    cc = json.load(open(CRYPTO_JSON))
    keys = {k: bytes.fromhex(v) for k, v in cc["kdf"][0]["subkeys_hex"].items()}
    packs = []
    empty, _, _ = build_pack(keys, "empty pack", [])
    one, one_e, _ = build_pack(keys, "one data chunk", [(0, stream("one", 100))])
    three, three_e, three_b = build_pack(keys, "three chunks, data and tree", [
        (0, stream("a", 300)), (1, stream("tree", 77)), (0, b"")])
    packs = [empty, one, three]
    ids = {v["name"]: bytes.fromhex(v["pack_id_hex"]) for v in packs}

    segments = []
    for name, groups in [
        ("no packs", []),
        ("one pack", [(ids["one data chunk"], one_e)]),
        ("three packs, one empty", [(ids["three chunks, data and tree"], three_e),
                                    (ids["empty pack"], []),
                                    (ids["one data chunk"], one_e)]),
    ]:
        nonce = fixed_nonce("segment " + name)
        seg = segment_bytes(keys, segment_plain(groups), nonce)
        segments.append({
            "name": name, "nonce_hex": nonce.hex(),
            "packs": [{"pack_id_hex": pid.hex(),
                       "entries": [{"type": e[0], "chunk_id_hex": e[1].hex(), "offset": e[2],
                                    "sealed_len": e[3], "plain_len": e[4]} for e in ents]}
                      for pid, ents in groups],
            "segment_hex": seg.hex(), "segment_id_hex": hashlib.sha256(seg).hexdigest(),
        })

    doc = {
        "note": "spec/pack.md; generated by spec/vectors/gen/pack_vectors.py, an independent "
                "Python implementation (hashlib, pyca/cryptography ChaCha20-Poly1305, "
                "pure-Python HChaCha20). Keys: client-crypto.json kdf[0].",
        "keys": "client-crypto.json kdf[0]",
        "index_key_hex": keys["index"].hex(),
        "packs": packs,
        "segments": segments,
        "bad_packs": bad_packs(keys, three_b, three_e),
        "bad_segments": bad_segments(keys, [(ids["three chunks, data and tree"], three_e),
                                            (ids["one data chunk"], one_e)]),
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
