"""XChaCha20-Poly1305 for the vector generators: HChaCha20 written out by
hand (draft-irtf-cfrg-xchacha), then pyca/cryptography's ChaCha20-Poly1305
(RFC 8439) with the last 8 nonce bytes. Independent of libsodium."""
import struct

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xffffffff


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + \
        list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_seal(key, nonce, ad, pt):
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\x00" * 4 + nonce[16:], pt, ad)
