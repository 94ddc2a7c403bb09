#!/usr/bin/env python3
"""Repair a llama.cpp vocab-only GGUF whose bytes went through a UTF-8 "replace" decode (every invalid UTF-8
byte sequence became U+FFFD, EF BF BD), as the copies of llama.cpp's models/ggml-vocab-*.gguf in a public
mirror did. Token texts and merges are valid UTF-8 and survive untouched; what is lost are numeric bytes >= 0x80
(array counts, lengths >= 128, floats). The repair re-derives them: counts and lengths from the structure,
scores from a reference tokenizer.model (SentencePiece vocabularies), scalar floats from --float KEY=VALUE.
It then CERTIFIES the result: the repaired file, pushed through the same UTF-8 replace decode, must give back
the damaged file byte for byte, so every byte that survived is proven equal and every lost byte is consistent.

usage: repair_vocab_gguf.py DAMAGED OUT [--spm-ref tokenizer.model] [--set key=value ...]
A lost scalar (e.g. an epsilon or a hidden size) must be given with --set from the model's config; the
certificate then checks it against the bytes of it that survived.
"""
import argparse, re, struct, sys

FFFD = b"\xef\xbf\xbd"
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
WIDTH = {U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, F32: 4, BOOL: 1, U64: 8, I64: 8, F64: 8}
FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}


def damage(b):
    return b.decode("utf-8", "replace").encode("utf-8")


class Reader:
    def __init__(self, data):
        self.d, self.o = data, 0
        self.last = len(data.rstrip(b"\0"))  # where the trailing alignment padding starts

    def units(self, n):
        """n original bytes; an FFFD counts as one unknown byte (None)."""
        out = []
        while len(out) < n:
            if self.d.startswith(FFFD, self.o):
                out.append(None)
                self.o += 3
            else:
                out.append(self.d[self.o])
                self.o += 1
        return out

    def num(self, t):
        u = self.units(WIDTH[t])
        if None in u:
            return None, u
        return struct.unpack(FMT[t], bytes(u))[0], u

    def raw(self, n):
        b = self.d[self.o:self.o + n]
        self.o += n
        return b


def len_units(d, o):
    """the 8 units of a length field at o (an FFFD is one unknown byte), or None past the end."""
    r = Reader(d)
    r.o = o
    try:
        return r.units(8)
    except IndexError:
        return None


def plausible_len(d, o):
    u = len_units(d, o)
    return u is not None and u[2:] == [0] * 6 and (u[1] is None or u[1] < 0x10)


def chain_ok(d, o, depth):
    """whether depth length-prefixed strings (UTF-8, no NUL) can be read from o, or a key / the end comes first."""
    for _ in range(depth):
        if is_key_at(d, o) or o >= len(d.rstrip(b"\0")):
            return True
        if not plausible_len(d, o):
            return False
        u = len_units(d, o)
        if None in u:
            return True  # a lost length: cannot look further, but it fits
        n = int.from_bytes(bytes(u), "little")
        b = d[o + 8:o + 8 + n]
        if len(b) < n or b"\0" in b:
            return False
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            return False
        o += 8 + n
    return True


def candidates(u):
    """every value of a little-endian field whose unknown bytes were >= 0x80 (the damage only hides those)."""
    vals = [0]
    for i, b in enumerate(u):
        opts = range(0x80, 0x100) if b is None else [b]
        vals = [v | (x << (8 * i)) for v in vals for x in opts]
    return vals


def read_string(r):
    n, u = r.num(U64)
    if n is not None:
        return r.raw(n).decode("utf-8")
    # a lost length: the string is valid UTF-8, so try each length the surviving bytes allow and keep the
    # shortest after which the next field parses (a plausible length or the end of the data).
    fits = []
    for n in candidates(u):
        end = r.o + n
        if end > len(r.d):
            continue
        try:
            s = r.d[r.o:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if end >= r.last or chain_ok(r.d, end, 3):
            fits.append((n, s))
    # A longer candidate can also land on a later length field (skipping whole short strings, which are valid
    # UTF-8 with their length fields); the string itself has no zero bytes, so the first fit is its end.
    if not fits:
        raise ValueError("cannot resolve a string length at %d" % r.o)
    r.o += fits[0][0]
    return fits[0][1]


def is_key_at(d, o):
    if not plausible_len(d, o):
        return False
    if d[o + 1:o + 8] != b"\0" * 7:
        return False
    k = d[o + 8:o + 8 + d[o]]
    return re.fullmatch(rb"(tokenizer|general)\.[a-z_]+(\.[a-z_]+)*", k) is not None


def parse(data, args):
    r = Reader(data)
    magic = r.raw(4)
    assert magic == b"GGUF"
    version, = struct.unpack("<I", bytes(r.units(4)))
    nt, _ = r.num(U64)
    nkv, _ = r.num(U64)
    assert nt == 0, "vocab-only files only"
    kvs = []
    key = "(header)"
    for _ in range(nkv):
        try:
            parse_kv(r, kvs, args)
        except (ValueError, IndexError, UnicodeDecodeError, OverflowError) as e:
            raise ValueError("after key %r, at byte %d: %s" % (kvs[-1][0] if kvs else None, r.o, e))
    return version, kvs, r.o


def parse_kv(r, kvs, args):
    if True:
        key = read_string(r)
        t, _ = r.num(U32)
        if t == STR:
            kvs.append((key, t, None, read_string(r)))
        elif t == ARR:
            et, _ = r.num(U32)
            start = r.o
            n, nu = r.num(U64)
            if n is None and et == STR:
                # An FFFD usually hides one byte, but a truncated multi-byte sequence (e.g. E8 BE before 00)
                # hides two or three: take the field end after which strings follow.
                for extra in (0, 1, 2):
                    r.o = start
                    r.units(8 - extra)
                    if chain_ok(r.d, r.o, 3):
                        break
                else:
                    raise ValueError("%s: cannot place the array after its lost count" % key)
            if et == STR:
                vals = []
                while (n is None and r.o < r.last and not is_key_at(r.d, r.o)) or (n is not None and len(vals) < n):
                    vals.append(read_string(r))
            else:
                if n is None:
                    n = len(next(v for k, _, _, v in kvs if k == "tokenizer.ggml.tokens"))
                here = r.o
                vals = [r.num(et) for _ in range(n)]
                if any(v is None for v, _ in vals) and key == "tokenizer.ggml.scores" and args.ref is not None:
                    # An FFFD may hide 1-3 bytes, so the float units cannot be counted; the values come from the
                    # reference and the array ends where the next key starts (the certificate checks the rest).
                    m = re.compile(rb"[\x05-\x7f]\0{7}(tokenizer|general)\.[a-z_.]+").search(r.d, here)
                    if not m:
                        raise ValueError("%s: no key after the array" % key)
                    r.o = m.start()
                    vals = [(None, None)] * n
            kvs.append((key, t, et, vals))
        else:
            v, u = r.num(t)
            if v is None:
                if key not in args.sets:
                    raise ValueError("%s: value bytes lost (%s); give --set %s=VALUE" % (key, u, key))
                v = float(args.sets[key]) if t in (F32, F64) else int(args.sets[key])
            kvs.append((key, t, None, v))


def spm_scores(path):
    """scores of a SentencePiece tokenizer.model (ModelProto.pieces[].score), by piece order."""
    data = open(path, "rb").read()
    out, o = [], 0

    def varint(o):
        x = s = 0
        while True:
            b = data[o]
            o += 1
            x |= (b & 0x7f) << s
            s += 7
            if b < 0x80:
                return x, o
    while o < len(data):
        tag, o = varint(o)
        f, w = tag >> 3, tag & 7
        if w == 2:
            n, o = varint(o)
            if f == 1:
                piece = data[o:o + n]
                p, score = 0, 0.0
                while p < n:
                    t2, p2 = 0, p
                    t2 = piece[p]
                    p += 1
                    if t2 & 7 == 2:
                        m = piece[p]
                        p += 1 + m
                    elif t2 & 7 == 5:
                        if t2 >> 3 == 2:
                            score = struct.unpack("<f", piece[p:p + 4])[0]
                        p += 4
                    elif t2 & 7 == 0:
                        while piece[p] >= 0x80:
                            p += 1
                        p += 1
                out.append(score)
            o += n
        elif w == 0:
            _, o = varint(o)
        elif w == 5:
            o += 4
        elif w == 1:
            o += 8
    return out


args_extra_score = [-1000.0]


def write(version, kvs, scores_ref, type_scores={}, id_scores={}):
    types = next(([x[0] for x in v] for k, _, _, v in kvs if k == "tokenizer.ggml.token_type"), [])
    b = bytearray(b"GGUF")
    b += struct.pack("<IQQ", version, 0, len(kvs))

    def s(x):
        e = x.encode("utf-8")
        return struct.pack("<Q", len(e)) + e
    for key, t, et, v in kvs:
        b += s(key) + struct.pack("<I", t)
        if t == STR:
            b += s(v)
        elif t == ARR:
            b += struct.pack("<IQ", et, len(v))
            for i, x in enumerate(v):
                if et == STR:
                    b += s(x)
                else:
                    val, units = x
                    if val is None:
                        if key == "tokenizer.ggml.scores" and scores_ref is not None:
                            typ = types[i] if i < len(types) else None
                            if i in id_scores:
                                val = id_scores[i]
                            elif typ in type_scores:
                                val = type_scores[typ]
                            else:
                                val = scores_ref[i] if i < len(scores_ref) else args_extra_score[0]
                        else:
                            raise ValueError("%s[%d]: value bytes lost %s" % (key, i, units))
                    b += struct.pack(FMT[et], val)
        else:
            b += struct.pack(FMT[t], v)
    return bytes(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("damaged")
    ap.add_argument("out")
    ap.add_argument("--spm-ref")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--type-score", action="append", default=[],
                    help="TYPE=SCORE: the converter's score for every token of that tokenizer.ggml.token_type")
    ap.add_argument("--id-score", action="append", default=[],
                    help="FIRST-LAST=SCORE: the converter's score for those token ids (before --type-score)")
    ap.add_argument("--extra-score", type=float, default=-1000.0,
                    help="score of pieces past the reference's (tokens the converter added)")
    args = ap.parse_args()
    args.sets = dict(x.split("=", 1) for x in args.set)
    args_extra_score[0] = args.extra_score
    data = open(args.damaged, "rb").read()
    ref = args.ref = spm_scores(args.spm_ref) if args.spm_ref else None
    version, kvs, end = parse(data, args)
    id_scores = {}
    for x in args.id_score:
        rng, v = x.split("=", 1)
        lo, _, hi = rng.partition("-")
        for i in range(int(lo), int(hi or lo) + 1):
            id_scores[i] = float(v)
    out = write(version, kvs, ref, {int(k): float(v) for k, v in (x.split("=", 1) for x in args.type_score)}, id_scores)
    tail = data[end:]
    # pad to the alignment as the writer did (whatever followed the key/values in the damaged file)
    cand = out + tail
    if damage(cand) != data:
        # find the first difference for the message
        d2 = damage(cand)
        i = next((i for i in range(min(len(d2), len(data))) if d2[i] != data[i]), min(len(d2), len(data)))
        sys.exit("%s: repaired file is NOT consistent with the damaged one (first difference at byte %d of %d/%d)" % (args.damaged, i, len(d2), len(data)))
    if ref is not None:
        # every score that survived must equal the reference's
        for key, t, et, v in kvs:
            if key == "tokenizer.ggml.scores":
                bad = [i for i, (val, _) in enumerate(v) if val is not None and i < len(ref) and struct.pack("<f", val) != struct.pack("<f", ref[i])]
                known = sum(1 for val, _ in v if val is not None)
                if bad:
                    sys.exit("%s: %d surviving scores differ from the reference (first id %d)" % (args.damaged, len(bad), bad[0]))
                print("scores: %d of %d parsed and equal the reference's; the others come from it (and the certificate)" % (known, len(v)))
    open(args.out, "wb").write(cand)
    print("%s: repaired, %d bytes, certified (damage(repaired) == damaged)" % (args.out, len(cand)))


main()
