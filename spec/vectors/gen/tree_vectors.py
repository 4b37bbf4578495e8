#!/usr/bin/env python3
"""Writes spec/vectors/tree.json from spec/tree.md.

Independent of client/tree.c and client/snapbody.c: the record encoder and
the strict reader below are written from the spec text; XChaCha20-Poly1305
is pyca/cryptography's ChaCha20Poly1305 with HChaCha20 written out in xchacha.py;
BLAKE2b is hashlib's. Run from the repository root:

    python3 spec/vectors/gen/tree_vectors.py > spec/vectors/tree.json
"""
import hashlib
import json
import struct
import sys

from xchacha import xchacha_seal

TYPES = ["end", "file", "dir", "symlink", "hardlink", "fifo", "chr", "blk", "sock"]
NAME_MAX = 4096
COMPONENT_MAX = 255
TARGET_MAX = 4096
CHUNKS_MAX = 1 << 24
CHUNK_MAX = 1 << 24
DEPTH_MAX = 1024
NSEC = 1000000000
JSON_MAX = 64 << 20
OWNER_MAX = 255
XNAME_MAX = 255
XVALUE_MAX = 65536
XBYTES_MAX = 1 << 20


# ---- the tree stream, section 3 -------------------------------------------

def encode_ext(n):
    """The version 2 extension part of a node dict (section 3, "Version 2")."""
    user, group = bytes.fromhex(n["user_hex"]), bytes.fromhex(n["group_hex"])
    out = struct.pack("<B", len(user)) + user + struct.pack("<B", len(group)) + group
    out += struct.pack("<H", len(n["xattrs"]))
    for x in n["xattrs"]:
        name, value = bytes.fromhex(x["name_hex"]), bytes.fromhex(x["value_hex"])
        out += struct.pack("<B", len(name)) + name + struct.pack("<I", len(value)) + value
    return out


def encode(n, version=1):
    """One record from a node dict (no checks: invalid vectors need it)."""
    if n["type"] != "end" and version >= 2:
        return encode_v1(n) + encode_ext(n)
    return encode_v1(n)


def encode_v1(n):
    t = TYPES.index(n["type"])
    if t == 0:
        return b"\x00"
    name = bytes.fromhex(n["name_hex"])
    out = struct.pack("<BH", t, len(name)) + name
    out += struct.pack("<IIIqIqIQQQ", n["mode"], n["uid"], n["gid"],
                       n["mtime_sec"], n["mtime_nsec"], n["ctime_sec"],
                       n["ctime_nsec"], n["inode"], n["dev"], n["size"])
    if n["type"] == "file":
        out += struct.pack("<QI", n["link_group"], len(n["chunks"]))
        for c in n["chunks"]:
            out += bytes.fromhex(c["id"]) + struct.pack("<I", c["len"])
    elif n["type"] == "hardlink":
        out += struct.pack("<Q", n["link_group"])
    elif n["type"] == "symlink":
        target = bytes.fromhex(n["target_hex"])
        out += struct.pack("<H", len(target)) + target
    elif n["type"] in ("chr", "blk"):
        out += struct.pack("<Q", n["rdev"])
    return out


class Corrupt(Exception):
    pass


class More(Exception):
    pass


def name_valid(name, top):
    if len(name) == 0 or b"\x00" in name:
        return False
    if not top:
        return len(name) <= COMPONENT_MAX and b"/" not in name and name not in (b".", b"..")
    if len(name) > NAME_MAX:
        return False
    return all(c not in (b"", b".", b"..") for c in name.split(b"/"))


def read_stream(data, version=1):
    """Reads a whole stream: (nodes, error) with error None, 'corrupt',
    'truncated' or 'unclosed'. Reads each record whole, then checks it."""
    nodes, prev, pos = [], [None], 0
    while pos < len(data):
        depth = len(prev) - 1
        try:
            node, used = read_record(data[pos:], depth, prev[-1], version)
        except Corrupt:
            return nodes, "corrupt"
        except More:
            return nodes, "truncated"
        pos += used
        if node["type"] == "end":
            prev.pop()
            node["depth"] = depth - 1
        else:
            prev[-1] = bytes.fromhex(node["name_hex"])
            if node["type"] == "dir":
                prev.append(None)
        nodes.append(node)
    return nodes, (None if len(prev) == 1 else "unclosed")


def take(buf, pos, n):
    if len(buf) - pos < n:
        raise More()
    return buf[pos:pos + n], pos + n


def read_ext(buf, pos, node):
    """The extension part: lengths checked as they arrive, order after."""
    for key in ("user_hex", "group_hex"):
        b, pos = take(buf, pos, 1)
        s, pos = take(buf, pos, b[0])
        node[key] = s.hex()
    b, pos = take(buf, pos, 2)
    (count,) = struct.unpack("<H", b)
    node["xattrs"], total = [], 0
    for _ in range(count):
        b, pos = take(buf, pos, 1)
        if b[0] == 0:
            raise Corrupt()
        name, pos = take(buf, pos, b[0])
        b, pos = take(buf, pos, 4)
        (vlen,) = struct.unpack("<I", b)
        total += len(name) + vlen
        if vlen > XVALUE_MAX or total > XBYTES_MAX:
            raise Corrupt()
        value, pos = take(buf, pos, vlen)
        node["xattrs"].append({"name_hex": name.hex(), "value_hex": value.hex()})
    return pos


def check_ext(node):
    user, group = bytes.fromhex(node["user_hex"]), bytes.fromhex(node["group_hex"])
    names = [bytes.fromhex(x["name_hex"]) for x in node["xattrs"]]
    return (b"\x00" not in user and b"\x00" not in group and
            all(b"\x00" not in n for n in names) and
            all(a < b for a, b in zip(names, names[1:])))


def read_record(buf, depth, prev, version=1):
    top = depth == 0
    b, pos = take(buf, 0, 1)
    t = b[0]
    if t >= len(TYPES):
        raise Corrupt()
    node = {"depth": depth, "type": TYPES[t]}
    if t == 0:
        if depth == 0:
            raise Corrupt()
        return node, pos
    if TYPES[t] == "dir" and depth >= DEPTH_MAX:
        raise Corrupt()
    b, pos = take(buf, pos, 2)
    (nlen,) = struct.unpack("<H", b)
    if nlen == 0 or nlen > (NAME_MAX if top else COMPONENT_MAX):
        raise Corrupt()
    name, pos = take(buf, pos, nlen)
    b, pos = take(buf, pos, 60)
    f = struct.unpack("<IIIqIqIQQQ", b)
    keys = ["mode", "uid", "gid", "mtime_sec", "mtime_nsec", "ctime_sec",
            "ctime_nsec", "inode", "dev", "size"]
    node["name_hex"] = name.hex()
    node.update(zip(keys, f))
    typ = node["type"]
    if typ == "file":
        b, pos = take(buf, pos, 12)
        group, count = struct.unpack("<QI", b)
        if count > CHUNKS_MAX:
            raise Corrupt()
        node["link_group"] = group
        node["chunks"] = []
        body, pos = take(buf, pos, 36 * count)
        for i in range(count):
            e = body[36 * i:36 * i + 36]
            node["chunks"].append({"id": e[:32].hex(),
                                   "len": struct.unpack("<I", e[32:])[0]})
    elif typ == "hardlink":
        b, pos = take(buf, pos, 8)
        node["link_group"] = struct.unpack("<Q", b)[0]
    elif typ == "symlink":
        b, pos = take(buf, pos, 2)
        (tlen,) = struct.unpack("<H", b)
        if tlen == 0 or tlen > TARGET_MAX:
            raise Corrupt()
        target, pos = take(buf, pos, tlen)
        node["target_hex"] = target.hex()
    elif typ in ("chr", "blk"):
        b, pos = take(buf, pos, 8)
        node["rdev"] = struct.unpack("<Q", b)[0]
    if version >= 2:
        pos = read_ext(buf, pos, node)
        if not check_ext(node):
            raise Corrupt()
    check_record(node, name, top, prev)
    return node, pos


def check_record(node, name, top, prev):
    typ = node["type"]
    ok = name_valid(name, top)
    ok = ok and node["mode"] <= 0o7777
    ok = ok and node["mtime_nsec"] < NSEC and node["ctime_nsec"] < NSEC
    if typ == "file":
        lens = [c["len"] for c in node["chunks"]]
        ok = ok and all(1 <= x <= CHUNK_MAX for x in lens) and sum(lens) == node["size"]
    elif typ == "hardlink":
        ok = ok and node["link_group"] != 0
    elif typ == "symlink":
        ok = ok and b"\x00" not in bytes.fromhex(node["target_hex"]) and node["size"] == 0
    else:
        ok = ok and node["size"] == 0
    # Siblings strictly increasing; Python compares bytes as unsigned.
    ok = ok and (prev is None or prev < name)
    if not ok:
        raise Corrupt()


# ---- building nodes ---------------------------------------------------------

def chunk_id(seed):
    return hashlib.sha256(b"tree vector chunk %d" % seed).hexdigest()


def node(typ, name, **kw):
    if isinstance(name, str):
        name = name.encode()
    n = {"type": typ, "name_hex": name.hex(), "mode": 0o644, "uid": 1000, "gid": 1000,
         "mtime_sec": 1700000000, "mtime_nsec": 123456789, "ctime_sec": 1700000001,
         "ctime_nsec": 987654321, "inode": 4242, "dev": 2049, "size": 0}
    if typ == "file":
        n["link_group"] = 0
        n["chunks"] = []
    elif typ == "hardlink":
        n["link_group"] = 1
    elif typ == "symlink":
        n["target_hex"] = b"target".hex()
    elif typ in ("chr", "blk"):
        n["rdev"] = 0
    n.update(kw)
    if typ == "file" and "size" not in kw:
        n["size"] = sum(c["len"] for c in n["chunks"])
    if typ == "symlink" and "target" in kw:
        n["target_hex"] = kw["target"].hex()
        del n["target"]
    return n


END = {"type": "end"}


def with_depth(nodes):
    """The nodes with their depths, as the reader reports them."""
    out, depth = [], 0
    for n in nodes:
        n = dict(n)
        if n["type"] == "end":
            depth -= 1
        n["depth"] = depth
        if n["type"] == "dir":
            depth += 1
        out.append(n)
    return out


def stream(note, nodes, version=1):
    nodes = with_depth(nodes)
    if version >= 2:
        nodes = [v2(n) for n in nodes]
    data = b"".join(encode(n, version) for n in nodes)
    got, err = read_stream(data, version)
    assert err is None, (note, err)
    assert got == nodes, note
    return {"note": note, "version": version, "hex": data.hex(), "nodes": nodes}


def v2(n, **kw):
    """n with a version 2 extension part (defaults: no names, no xattrs)."""
    n = dict(n)
    if n["type"] == "end":
        return n
    n.setdefault("user_hex", "")
    n.setdefault("group_hex", "")
    n.setdefault("xattrs", [])
    for k, val in kw.items():
        if k in ("user", "group"):
            n[k + "_hex"] = val.hex()
        else:
            n[k] = val
    return n


def xa(name, value):
    return {"name_hex": name.hex(), "value_hex": value.hex()}


ACL_ACCESS = struct.pack("<I", 2) + b"".join(
    struct.pack("<HHI", tag, perm, uid) for tag, perm, uid in
    [(0x01, 6, 0xffffffff), (0x02, 4, 1001), (0x04, 4, 0xffffffff),
     (0x10, 4, 0xffffffff), (0x20, 0, 0xffffffff)])


def spec_example_v2():
    """The version 2 example of section 4, byte by byte."""
    zero = dict(mode=0, uid=0, gid=0, mtime_sec=0, mtime_nsec=0, ctime_sec=0,
                ctime_nsec=0, inode=0, dev=0)
    nodes = [v2(node("dir", "a", **dict(zero, mode=0o755)), user=b"root", group=b"root"),
             v2(node("file", "b", **zero), user=b"root", group=b"root",
                xattrs=[xa(b"user.k", b"v")]), END]
    v = stream("the version 2 example of spec/tree.md 4", nodes, 2)
    assert len(v["hex"]) // 2 == 177
    assert v["hex"][0x40 * 2:0x4c * 2] == "04726f6f7404726f6f740000"
    assert v["hex"][0xa2 * 2:] == "0100" + "06" + b"user.k".hex() + "01000000" + "76" + "00"
    return v


def valid_streams_v2():
    return [
        spec_example_v2(),
        stream("version 2: every node type with owner names; ACLs, a capability, "
               "sorted xattrs, an empty value, a hard link", [
                   v2(node("dir", "srv", mode=0o755), user=b"root", group=b"wheel",
                      xattrs=[xa(b"system.posix_acl_access", ACL_ACCESS),
                              xa(b"system.posix_acl_default", ACL_ACCESS)]),
                   v2(node("file", "a", chunks=[{"id": chunk_id(6), "len": 10}],
                           link_group=3), user=b"u" * OWNER_MAX, group=b"\xff",
                      xattrs=[xa(b"security.capability", b"\x01\x00\x00\x02" + b"\0" * 16),
                              xa(b"trusted.t", b""), xa(b"user.a", b"\x00\xff"),
                              xa(b"user.ab", b"1")]),
                   v2(node("hardlink", "b", link_group=3, size=10), user=b"u" * OWNER_MAX,
                      group=b"\xff"),
                   v2(node("symlink", "l", target=b"a"), xattrs=[xa(b"security.selinux",
                                                                    b"x_u:x_r:x_t:s0")]),
                   v2(node("fifo", "p")),
                   v2(node("chr", "z", rdev=259)),
                   v2(node("blk", "zb", rdev=2049)),
                   v2(node("sock", "zs")),
                   END], 2),
        # The 64 KiB value and 1 MiB limits are checked at their edges by
        # tests/unit/test_tree.c (vectors that size would be megabytes).
        stream("version 2: a 255-byte xattr name",
               [v2(node("fifo", "big"), xattrs=[xa(b"user." + b"n" * (XNAME_MAX - 5), b"v")])],
               2),
    ]


def valid_streams():
    return valid_streams_v1() + valid_streams_v2()


def valid_streams_v1():
    f1 = [{"id": chunk_id(1), "len": 1000}, {"id": chunk_id(2), "len": CHUNK_MAX}]
    rich = [
        node("dir", "home/user", mode=0o755, uid=0, gid=0),
        node("file", ".profile", chunks=f1, link_group=1, mode=0o7777,
             uid=0xffffffff, gid=0xfffffffe, inode=(1 << 63) - 1, dev=(1 << 62) + 5),
        node("dir", "Docs", mode=0o700),
        node("dir", "inner"),
        node("file", "deep.txt", mtime_sec=-1, mtime_nsec=999999999,
             ctime_sec=-(1 << 63), ctime_nsec=0),
        END,
        node("file", "x" * COMPONENT_MAX, chunks=[{"id": chunk_id(3), "len": 1}]),
        END,
        node("symlink", "bin", mode=0o777, target=b"../usr/bin"),
        node("fifo", "fifo"),
        node("hardlink", "hard", link_group=1, size=1000 + CHUNK_MAX),
        node("chr", "null", mode=0o666, rdev=(1 << 8) | 3),
        node("blk", "sda", mode=0o660, rdev=(8 << 8) | 0),
        node("sock", "sock", mode=0o755),
        node("file", "\u00e9t\u00e9", chunks=[{"id": chunk_id(4), "len": 77}]),
        node("dir", b"\xff"),
        END,
        END,
        node("dir", "usr/share/doc"),
        END,
        node("file", "var/log/syslog", chunks=[{"id": chunk_id(5), "len": 4096}]),
    ]
    long_top = ("a/" * (NAME_MAX // 2 - 1) + "bc").encode()
    assert len(long_top) == NAME_MAX
    return [
        stream("empty stream", []),
        stream("one top-level file", [
            node("file", "etc/hostname", chunks=[{"id": chunk_id(0), "len": 9}])]),
        stream("every node type, a hard link, nested dirs, non-ASCII and 0xff names, "
               "a 255-byte name, top-level paths", rich),
        stream("empty dir, empty file, symlink with a 4096-byte target",
               [node("dir", "d"), END, node("file", "e"),
                node("symlink", "l", target=b"t" * TARGET_MAX)]),
        stream("a top-level name of 4096 bytes", [node("fifo", long_top)]),
        stream("a HARDLINK whose group no FILE has: the reader leaves it to the restorer",
               [node("hardlink", "tmp/h", link_group=99)]),
        stream("siblings sorted by unsigned bytes; a prefix sorts first",
               [node("dir", "r"), node("file", "a"), node("file", "ab"),
                node("file", "b"), node("file", b"\x7f"), node("file", b"\x80"), END]),
    ]


def invalid(note, nodes, error, raw=None, cut=None, version=1):
    if raw is None:
        nodes = [v2(n) for n in nodes] if version >= 2 else nodes
        data = b"".join(encode(n, version) for n in nodes)
    else:
        data = raw
    if cut is not None:
        data = data[:cut]
    got, err = read_stream(data, version)
    assert err == error, (note, err, error)
    return {"note": note, "version": version, "hex": data.hex(), "error": error,
            "records": len(got)}


def invalid_streams_v2():
    f = rec("fifo", "f")
    ok = encode(v2(f), 2)
    big_value = encode_v1(f) + b"\0\0" + struct.pack("<H", 1) + b"\x06user.k" + \
        struct.pack("<I", XVALUE_MAX + 1)
    return [
        invalid("version 2: a version 1 record (no extension part)", [], "truncated",
                raw=encode_v1(f), version=2),
        invalid("version 1: a version 2 record (the extension part is read as the next "
                "record)", [], "corrupt", raw=ok + encode(v2(rec("fifo", "g")), 2)),
        invalid("version 2: xattr name length 0", [], "corrupt",
                raw=encode_v1(f) + b"\0\0\x01\x00\x00", version=2),
        invalid("version 2: xattr value of 65537 bytes, refused from its length on", [],
                "corrupt", raw=big_value, version=2),
        invalid("version 2: xattrs out of order",
                [v2(f, xattrs=[xa(b"user.b", b""), xa(b"user.a", b"")])], "corrupt",
                version=2),
        invalid("version 2: one xattr name twice",
                [v2(f, xattrs=[xa(b"user.a", b"1"), xa(b"user.a", b"2")])], "corrupt",
                version=2),
        invalid("version 2: NUL in an xattr name", [v2(f, xattrs=[xa(b"user.\0", b"")])],
                "corrupt", version=2),
        invalid("version 2: NUL in a user name", [v2(f, user=b"ro\0t")], "corrupt",
                version=2),
        invalid("version 2: NUL in a group name", [v2(f, group=b"\0")], "corrupt",
                version=2),
        invalid("version 2: input ends inside an xattr value",
                [v2(f, xattrs=[xa(b"user.a", b"12345")])], "truncated", cut=len(ok) + 10,
                version=2),
        invalid("version 2: a version 1 rule still holds (mode 0o10000)",
                [rec("fifo", mode=0o10000)], "corrupt", version=2),
    ]


def rec(typ, name="n", **kw):
    return node(typ, name, **kw)


def invalid_streams():
    d = rec("dir", "d")
    bad_count = encode(rec("file", "f"))[:-4] + struct.pack("<I", CHUNKS_MAX + 1)
    v = [
        invalid("type 9", [], "corrupt", raw=b"\x09"),
        invalid("type 0xff after a valid record", [], "corrupt",
                raw=encode(rec("fifo", "a")) + b"\xff"),
        invalid("END at the top level", [END], "corrupt"),
        invalid("END after every directory is closed", [d, END, END], "corrupt"),
        invalid("name length 0", [rec("fifo", b"")], "corrupt"),
        invalid("top-level name of 4097 bytes", [rec("fifo", b"a" * (NAME_MAX + 1))],
                "corrupt"),
        invalid("name of 256 bytes below the top level",
                [d, rec("fifo", b"a" * (COMPONENT_MAX + 1)), END], "corrupt"),
        invalid("'/' in a name below the top level", [d, rec("fifo", "a/b"), END],
                "corrupt"),
        invalid("NUL in a top-level name", [rec("fifo", b"a\x00b")], "corrupt"),
        invalid("NUL in a name below the top level", [d, rec("fifo", b"a\x00"), END],
                "corrupt"),
        invalid("'.' below the top level", [d, rec("fifo", "."), END], "corrupt"),
        invalid("'..' below the top level", [d, rec("fifo", ".."), END], "corrupt"),
    ]
    for name in ["/etc", "etc/", "etc//x", "./etc", "etc/..", "etc/./x", ".", ".."]:
        v.append(invalid("top-level name %r" % name, [rec("fifo", name)], "corrupt"))
    v += [
        invalid("mode 0o10000", [rec("fifo", mode=0o10000)], "corrupt"),
        invalid("mtime nsec 10^9", [rec("fifo", mtime_nsec=NSEC)], "corrupt"),
        invalid("ctime nsec 10^9", [rec("fifo", ctime_nsec=NSEC)], "corrupt"),
        invalid("two siblings of one name", [d, rec("fifo", "a"), rec("fifo", "a"), END],
                "corrupt"),
        invalid("siblings in decreasing order", [d, rec("fifo", "b"), rec("fifo", "a"), END],
                "corrupt"),
        invalid("a prefix after the longer name", [d, rec("fifo", "ab"), rec("fifo", "a"),
                                                   END], "corrupt"),
        invalid("0xff before 'a' (bytes compare unsigned)",
                [d, rec("fifo", b"\xff"), rec("fifo", "a"), END], "corrupt"),
        invalid("top-level records out of order", [rec("fifo", "usr"), rec("fifo", "etc")],
                "corrupt"),
        invalid("order is per directory: a sibling after a nested dir's child",
                [d, rec("dir", "m"), rec("fifo", "z"), END, rec("fifo", "c"), END],
                "corrupt"),
        invalid("2^24 + 1 chunks, refused from the count field on", [], "corrupt",
                raw=bad_count),
        invalid("chunk length 0", [rec("file", chunks=[{"id": chunk_id(1), "len": 0}])],
                "corrupt"),
        invalid("chunk length 2^24 + 1",
                [rec("file", chunks=[{"id": chunk_id(1), "len": CHUNK_MAX + 1}])], "corrupt"),
        invalid("chunk lengths below size",
                [rec("file", chunks=[{"id": chunk_id(1), "len": 5}], size=6)], "corrupt"),
        invalid("chunk lengths above size",
                [rec("file", chunks=[{"id": chunk_id(1), "len": 5}], size=4)], "corrupt"),
        invalid("a non-empty size with no chunks", [rec("file", size=1)], "corrupt"),
        invalid("HARDLINK with link group 0", [rec("hardlink", link_group=0)], "corrupt"),
        invalid("symlink target length 0", [rec("symlink", target=b"")], "corrupt"),
        invalid("symlink target of 4097 bytes",
                [rec("symlink", target=b"t" * (TARGET_MAX + 1))], "corrupt"),
        invalid("NUL in a symlink target", [rec("symlink", target=b"a\x00")], "corrupt"),
        invalid("symlink with size 1", [rec("symlink", size=1)], "corrupt"),
        invalid("DIR with size 1", [rec("dir", size=1), END], "corrupt"),
        invalid("FIFO with size 1", [rec("fifo", size=1)], "corrupt"),
        invalid("SOCK with size 1", [rec("sock", size=1)], "corrupt"),
        invalid("CHR with size 1", [rec("chr", size=1)], "corrupt"),
        invalid("BLK with size 1", [rec("blk", size=1)], "corrupt"),
        invalid("input ends inside a FILE's chunk list",
                [rec("fifo", "a"), rec("file", "b", chunks=[{"id": chunk_id(1), "len": 3}])],
                "truncated", cut=len(encode(rec("fifo", "a"))) + 80),
        invalid("input ends inside a name length", [d], "truncated", cut=2),
        invalid("a DIR never closed", [d, rec("fifo", "a")], "unclosed"),
        invalid("two DIRs, one END", [d, rec("dir", "e"), END], "unclosed"),
    ]
    return v + invalid_streams_v2()


# ---- XChaCha20-Poly1305 and the snapshot body, section 5 ---------------------

def group_label(index_key, hostname, paths):
    h = hashlib.blake2b(key=index_key, digest_size=32)
    h.update(b"vault group v1\x00" + hostname.encode() + b"\x00")
    for p in sorted(set(p.encode() for p in paths)):
        h.update(p + b"\x00")
    return h.digest()


def envelope_header(client_time, group, refs, body_len):
    """spec/envelope.md, "Layout": everything before the body."""
    out = b"VAULTSNP" + bytes([1]) + struct.pack("<Iq", 0, client_time) + group
    out += struct.pack("<I", len(refs))
    for kind, rid in sorted(refs):
        out += bytes([kind]) + rid
    return out + struct.pack("<Q", body_len)


BODY_FIELDS = {
    "time": 1700000000, "time_nsec": 5, "hostname": "h\u00f6st", "username": "root",
    "paths": ["/home", "/etc"], "tags": ["daily", ""],
    "parent": hashlib.sha256(b"parent").hexdigest(),
    "tree": [{"id": chunk_id(10), "len": 4096}, {"id": chunk_id(11), "len": 100}],
    "tree_size": 4196, "files": 12, "dirs": 3, "bytes": 123456789, "errors": 1,
}


def body_json():
    # Hand-made text: another member order than the writer's, white space,
    # an escaped character and unknown members (which a reader ignores).
    return ('{ "version": 1, "tree_version": 1, "future": {"x": [1, 2.5]},\n'
            ' "hostname": "h\\u00f6st", "username": "root", "time": 1700000000,'
            ' "time_nsec": 5, "paths": ["/home", "/etc"], "tags": ["daily", ""],'
            ' "parent": "%s", "tree": [{"id": "%s", "len": 4096, "extra": true},'
            ' {"len": 100, "id": "%s"}], "tree_size": 4196, "files": 12, "dirs": 3,'
            ' "bytes": 123456789, "errors": 1 }'
            % (BODY_FIELDS["parent"], chunk_id(10), chunk_id(11)))


def body_vector(index_key):
    text = body_json().encode()
    assert json.loads(text)["hostname"] == BODY_FIELDS["hostname"]
    group = group_label(index_key, BODY_FIELDS["hostname"], BODY_FIELDS["paths"])
    refs = [(0, hashlib.sha256(b"pack 1").digest()), (1, hashlib.sha256(b"index 1").digest())]
    header = envelope_header(BODY_FIELDS["time"], group, refs, 24 + len(text) + 16)
    nonce = bytes(range(0x40, 0x40 + 24))
    sealed = nonce + xchacha_seal(index_key, nonce, header, text)
    assert len(sealed) == 24 + len(text) + 16
    return {"note": "hand-written JSON with unknown members, sealed under the header",
            "header_hex": header.hex(), "nonce_hex": nonce.hex(), "json": text.decode(),
            "sealed_hex": sealed.hex(), "fields": BODY_FIELDS}


BODY_V2_CHAIN = {
    "seq": 7,
    "prev": [hashlib.sha256(b"prev a").hexdigest(), hashlib.sha256(b"prev b").hexdigest()],
}


def body_v2_json():
    # Version 2 (section 5, "The chain"): seq and prev, in another order
    # than the writer's, with an unknown member.
    fields = dict(BODY_FIELDS)
    fields.update(BODY_V2_CHAIN)
    text = json.dumps({"prev": BODY_V2_CHAIN["prev"], "version": 2, "tree_version": 2,
                       "later": None, **BODY_FIELDS, "seq": BODY_V2_CHAIN["seq"]})
    return text, fields


def body_v2_vector(index_key):
    text, fields = body_v2_json()
    text = text.encode()
    group = group_label(index_key, BODY_FIELDS["hostname"], BODY_FIELDS["paths"])
    refs = [(0, hashlib.sha256(b"pack 2").digest())]
    header = envelope_header(BODY_FIELDS["time"], group, refs, 24 + len(text) + 16)
    nonce = bytes(range(0x60, 0x60 + 24))
    sealed = nonce + xchacha_seal(index_key, nonce, header, text)
    return {"note": "a version 2 body (the chain members seq and prev) of a version 2 tree stream",
            "header_hex": header.hex(), "nonce_hex": nonce.hex(), "json": text.decode(),
            "sealed_hex": sealed.hex(), "fields": fields}


def body_base(version=1):
    b = {"version": version, "tree_version": 1}
    b.update(BODY_FIELDS)
    if version == 2:
        b.update(BODY_V2_CHAIN)
    return b


def body_invalid():
    out = []

    def add(note, text, error):
        out.append({"note": note, "json_hex": text.hex(), "error": error})

    def mutated(note, error, body_version=1, **kw):
        b = body_base(body_version)
        for k, val in kw.items():
            if val is DROP:
                del b[k]
            else:
                b[k] = val
        add(note, json.dumps(b).encode(), error)

    for k in body_base():
        mutated("member %s missing" % k, "corrupt", **{k: DROP})
    mutated("version 3 (a newer client's)", "unsupported", version=3)
    mutated("version 0", "unsupported", version=0)
    for k in BODY_V2_CHAIN:
        mutated("version 2, member %s missing" % k, "corrupt", 2, **{k: DROP})
    mutated("version 2, seq negative", "corrupt", 2, seq=-1)
    mutated("version 2, seq a string", "corrupt", 2, seq="7")
    mutated("version 2, prev not an array", "corrupt", 2, prev=BODY_V2_CHAIN["prev"][0])
    mutated("version 2, a prev ID in upper case", "corrupt", 2,
            prev=[BODY_V2_CHAIN["prev"][0].upper()])
    mutated("version 2, a prev ID null", "corrupt", 2, prev=[None])
    mutated("version 2, 65 prev IDs", "corrupt", 2,
            prev=[hashlib.sha256(bytes([i])).hexdigest() for i in range(65)])
    mutated("tree_version 3", "unsupported", tree_version=3)
    mutated("tree_version 0", "unsupported", tree_version=0)
    mutated("version as a string", "corrupt", version="1")
    mutated("time as a real", "corrupt", time=1.5)
    mutated("time_nsec 10^9", "corrupt", time_nsec=NSEC)
    mutated("time_nsec -1", "corrupt", time_nsec=-1)
    mutated("hostname a number", "corrupt", hostname=7)
    mutated("paths not an array", "corrupt", paths="/home")
    mutated("a relative path", "corrupt", paths=["home"])
    mutated("an empty path", "corrupt", paths=[""])
    mutated("a tag not a string", "corrupt", tags=[1])
    mutated("parent in upper case", "corrupt", parent=BODY_FIELDS["parent"].upper())
    mutated("parent of 63 digits", "corrupt", parent=BODY_FIELDS["parent"][:63])
    mutated("parent false", "corrupt", parent=False)
    mutated("tree entry without id", "corrupt", tree=[{"len": 4196}])
    mutated("tree entry len 0", "corrupt",
            tree=[{"id": chunk_id(10), "len": 0}], tree_size=0)
    mutated("tree entry len 2^24 + 1", "corrupt",
            tree=[{"id": chunk_id(10), "len": CHUNK_MAX + 1}], tree_size=CHUNK_MAX + 1)
    mutated("tree_size not the sum", "corrupt", tree_size=4195)
    mutated("tree not an array", "corrupt", tree={})
    mutated("files negative", "corrupt", files=-1)
    mutated("bytes as a real", "corrupt", bytes=1e3)
    mutated("errors null", "corrupt", errors=None)
    mutated("a NUL in the hostname", "corrupt", hostname="a\u0000b")
    good = json.dumps(body_base()).encode()
    add("a member twice", good[:-1] + b', "files": 13}', "corrupt")
    add("bytes after the object", good + b" x", "corrupt")
    add("an array, not an object", b"[" + good + b"]", "corrupt")
    add("invalid UTF-8 in a string", good.replace(b'"root"', b'"r\xffot"'), "corrupt")
    add("empty plaintext", b"", "corrupt")
    add("an integer past int64", good.replace(b'"files": 12', b'"files": 9223372036854775808'),
        "corrupt")
    return out


DROP = object()


def main():
    with open("spec/vectors/client-crypto.json") as f:
        kdf0 = json.load(f)["kdf"][0]
    index_key = bytes.fromhex(kdf0["subkeys_hex"]["index"])
    groups = []
    for host, paths in [("host", ["/"]), ("h\u00f6st", ["/home", "/etc"]),
                        ("h\u00f6st", ["/etc", "/home", "/etc"]), ("", []),
                        ("ab", ["/c"]), ("a", ["b/c"])]:
        groups.append({"hostname": host, "paths": paths,
                       "group_hex": group_label(index_key, host, paths).hex()})
    doc = {
        "note": "spec/tree.md section 8; keys: client-crypto.json kdf[0] (index subkey)",
        "streams": valid_streams(),
        "invalid": invalid_streams(),
        "body": body_vector(index_key),
        "body_v2": body_v2_vector(index_key),
        "body_invalid": body_invalid(),
        "group": groups,
    }
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
