#!/usr/bin/env python3
"""Writes spec/vectors/s3-sigv4.json: S3 request targets and SigV4
Authorization values computed here, independently of replicator/s3.c, from
AWS's description of Signature Version 4 (canonical request, string to sign,
HMAC-SHA256 signing-key chain) and of S3 URLs (path and virtual-host style,
keys URI-encoded once with '/' kept).

Before writing, it reproduces the four worked examples of AWS's S3
documentation, so a mistake here cannot pass silently.

    python3 spec/vectors/gen/s3_sigv4.py > spec/vectors/s3-sigv4.json
"""
import hashlib
import hmac
import json
import sys

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def uri_encode(s, keep_slash):
    out = []
    for b in s.encode("utf-8"):
        if b in UNRESERVED or (keep_slash and b == ord("/")):
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def authorization(access, secret, region, method, uri, query, headers, payload, amz_date):
    names = sorted(headers)
    canon_headers = "".join("%s:%s\n" % (n, " ".join(headers[n].split())) for n in names)
    signed = ";".join(names)
    creq = "\n".join([method, uri, query, canon_headers, signed, payload])
    date = amz_date[:8]
    scope = "%s/%s/s3/aws4_request" % (date, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(creq.encode())])
    k = hm(("AWS4" + secret).encode(), date)
    k = hm(k, region)
    k = hm(k, "s3")
    k = hm(k, "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s" % (access, scope, signed, sig)


def check_aws_examples():
    ak, sk = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    host, d, empty = "examplebucket.s3.amazonaws.com", "20130524T000000Z", sha256_hex(b"")
    base = {"host": host, "x-amz-date": d, "x-amz-content-sha256": empty}
    a = authorization(ak, sk, "us-east-1", "GET", "/test.txt", "", dict(base, range="bytes=0-9"), empty, d)
    assert a.endswith("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"), a
    body = sha256_hex(b"Welcome to Amazon S3.")
    h = dict(base, date="Fri, 24 May 2013 00:00:00 GMT")
    h["x-amz-storage-class"] = "REDUCED_REDUNDANCY"
    h["x-amz-content-sha256"] = body
    a = authorization(ak, sk, "us-east-1", "PUT", "/" + uri_encode("test$file.text", True), "", h, body, d)
    assert a.endswith("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"), a
    a = authorization(ak, sk, "us-east-1", "GET", "/", "lifecycle=", base, empty, d)
    assert a.endswith("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"), a
    a = authorization(ak, sk, "us-east-1", "GET", "/", "max-keys=2&prefix=J", base, empty, d)
    assert a.endswith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"), a


def target(endpoint, bucket, prefix, key, path_style):
    scheme, rest = endpoint.split("://", 1)
    hostport = rest.rstrip("/")
    enc = None if key == "" else uri_encode(prefix + key, True)
    if path_style:
        host = hostport
        uri = "/" + bucket + ("" if enc is None else "/" + enc)
    else:
        host = bucket + "." + hostport
        uri = "/" + ("" if enc is None else enc)
    return host, uri, "%s://%s%s" % (scheme, host, uri)


CASES = [
    dict(note="PUT of a Vault object to s3rver, path style, payload hash = object ID",
         endpoint="http://127.0.0.1:4568", region="us-east-1", bucket="vaultbkt", prefix="vault/",
         key="pack/" + sha256_hex(b"hello"), path_style=1, method="PUT", query="",
         payload=sha256_hex(b"hello"), amz_date="20261201T073000Z",
         access_key="S3RVER", secret_key="S3RVER"),
    dict(note="GET, virtual host over https, a key with bytes to encode and dot segments kept",
         endpoint="https://s3.eu-west-1.amazonaws.com/", region="eu-west-1", bucket="my.bucket-1",
         prefix="", key="dir/a b$+=&%\u00e9/../x~y", path_style=0, method="GET", query="",
         payload=sha256_hex(b""), amz_date="20251231T235959Z",
         access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    dict(note="ListObjectsV2 page 2, path style: a continuation token with + / = and a prefix with /",
         endpoint="http://s3.localhost:9000", region="us-east-1", bucket="vaultbkt", prefix="vault/",
         key="", path_style=1, method="GET",
         query="continuation-token=" + uri_encode("abc+/def==", False) + "&list-type=2&max-keys=2&prefix="
         + uri_encode("vault/pack/", False),
         payload=sha256_hex(b""), amz_date="20261201T000000Z",
         access_key="S3RVER", secret_key="S3RVER"),
    dict(note="ListObjectsV2, virtual host, empty prefix",
         endpoint="http://s3.localhost:9000", region="us-east-1", bucket="vaultbkt", prefix="",
         key="", path_style=0, method="GET", query="list-type=2&prefix=",
         payload=sha256_hex(b""), amz_date="20261201T000000Z",
         access_key="S3RVER", secret_key="S3RVER"),
    dict(note="HEAD, virtual host with a port",
         endpoint="http://s3.localhost:4568", region="us-west-2", bucket="vaultbkt", prefix="p/",
         key="k", path_style=0, method="HEAD", query="",
         payload=sha256_hex(b""), amz_date="20260101T010203Z",
         access_key="AK", secret_key="SK"),
    dict(note="DELETE, path style over https with the default port unnamed",
         endpoint="https://storage.example.net", region="auto", bucket="b-b", prefix="",
         key="0" * 64, path_style=1, method="DELETE", query="",
         payload=sha256_hex(b""), amz_date="20260615T120000Z",
         access_key="AK", secret_key="S" * 100),
]


def main():
    check_aws_examples()
    out = []
    for c in CASES:
        host, uri, url = target(c["endpoint"], c["bucket"], c["prefix"], c["key"], c["path_style"])
        headers = {"host": host, "x-amz-content-sha256": c["payload"], "x-amz-date": c["amz_date"]}
        v = dict(c)
        v.update(host=host, canonical_uri=uri, url=url, payload_sha256=c["payload"])
        del v["payload"]
        v["authorization"] = authorization(c["access_key"], c["secret_key"], c["region"], c["method"],
                                           uri, c["query"], headers, c["payload"], c["amz_date"])
        out.append(v)
    doc = {"note": "replicator/s3.h targets and SigV4 (host;x-amz-content-sha256;x-amz-date); generated by "
                   "spec/vectors/gen/s3_sigv4.py, an independent Python implementation (hashlib, hmac) "
                   "checked against AWS's worked S3 examples",
           "sign": out}
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
