#!/usr/bin/python3
"""Writes the committed seed corpora under fuzz/corpus/<target>/.

Run from anywhere: /usr/bin/python3 fuzz/make_seeds.py (needs numpy). The files are deterministic,
so re-running it only changes them when this script changes. Crash inputs
found later are added to fuzz/corpus/<target>/ by hand (named regress-*), and
become unit tests in tests/.
"""
import hashlib
import io
import os
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy_bytes(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npy_seeds():
    rng = np.random.default_rng(5)
    m32 = rng.standard_normal((3, 4)).astype("<f4")
    m64 = rng.standard_normal((2, 5)).astype("<f8")
    write("fuzz_npy", "f4_3x4.npy", npy_bytes(m32))
    write("fuzz_npy", "f8_2x5.npy", npy_bytes(m64))
    write("fuzz_npy", "f4_v2.npy", npy_bytes(m32, (2, 0)))
    write("fuzz_npy", "f8_v3.npy", npy_bytes(m64, (3, 0)))
    write("fuzz_npy", "f8_1x1.npy", npy_bytes(np.array([[np.nan]], dtype="<f8")))
    write("fuzz_npy", "vector.npy", npy_bytes(np.arange(4, dtype="<f4")))
    write("fuzz_npy", "scalar.npy", npy_bytes(np.float64(1.5)))
    write("fuzz_npy", "fortran.npy", npy_bytes(np.asfortranarray(m64)))
    write("fuzz_npy", "bigendian.npy", npy_bytes(m64.astype(">f8")))
    write("fuzz_npy", "int32.npy", npy_bytes(np.ones((2, 2), dtype="<i4")))
    write("fuzz_npy", "empty.npy", npy_bytes(np.zeros((0, 3), dtype="<f4")))
    write("fuzz_npy", "3d.npy", npy_bytes(np.zeros((2, 1, 2), dtype="<f4")))
    good = npy_bytes(m32)
    write("fuzz_npy", "truncated.npy", good[:-3])
    write("fuzz_npy", "trailing.npy", good + b"\0\0\0\0")
    # A header that claims a huge shape over a few bytes of data.
    hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    hdr = hdr + " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    write("fuzz_npy", "huge_shape.npy",
          b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + b"\0" * 16)
    # A header length that runs past the end of the file.
    write("fuzz_npy", "long_header.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{")


SPECS = [
    "mean", "median", "trimmed-mean(f=2)", "krum(f=1)", "multi-krum(f=2, m=3)",
    "multi-krum(f=0)", "bulyan(f=1)", "sign-vote", "noisy-median(b=0.5, seed=7)",
    "noisy-sign-vote(b=1e-3)", "noisy-median(b=-1)", "noisy-median(b=1e400)",
    "krum(f=99999999999999999999)", "krum(f=2147483647)", "krum(f=-1)", "krum(f=1, f=2)",
    "krum(g=1)", "krum(", "krum(f=)", "krum(f=1,)", "  median  ( )  ",
    "detox(r=3)", "detox(r=3, buckets=2, inner=mean, outer=median)",
    "detox(r=5, buckets=3, inner=multi-krum(f=1), outer=mean, tolerance=1e-6, seed=4)",
    "detox(r=3, outer=bulyan(f=1))", "detox(r=1, outer=detox(r=1, outer=detox(r=1)))",
    "detox(r=2)", "detox(r=3, inner=krum(f=0), buckets=1)",
    "noisy-median(b=0x1p-3)", "noisy-median(b=nan)", "noisy-median(b=inf)",
    # stages: then= chains, DETOX with a stage, missing then=, bad static parameters
    "clip(c=2, then=mean)", "nnm(f=2, then=trimmed-mean(f=2))", "arc(f=1, then=krum(f=1))",
    "bucketing(s=2, seed=3, then=median)", "clip(c=2, then=arc(f=2, then=krum(f=2)))",
    "clip(c=1, then=nnm(f=1, then=bucketing(s=2, then=median)))",
    "detox(r=3, outer=nnm(f=1, then=median))", "nnm(f=1, then=detox(r=3))",
    "nnm(f=2)", "clip(c=0, then=mean)", "clip(c=-1, then=mean)", "bucketing(s=0, then=mean)",
    "nnm(f=1, then=2)", "bucketing(s=2147483647, then=bucketing(s=2147483647, then=krum(f=2147483647)))",
    # the rules after 2020
    "geometric-median", "geometric-median(iterations=3, nu=0.5, tolerance=0)",
    "geometric-median(nu=0)", "geometric-median(iterations=0)", "geometric-median(tolerance=-1)",
    "centered-clipping(tau=1)", "centered-clipping(tau=0.5, iterations=4, warm-start=1)",
    "centered-clipping(tau=0)", "centered-clipping", "centered-clipping(tau=1, warm-start=2)",
    "meamed(f=2)", "mda(f=1)", "mda(f=30)", "monna(f=1, trusted=3)", "monna(f=1, trusted=99)",
    "caf(f=2)", "smea(f=1)", "smea(f=20)", "detox(r=3, outer=geometric-median)",
    "detox(r=3, buckets=3, inner=mean, outer=caf(f=1))",
]


def spec_seeds():
    for s in SPECS:
        write("fuzz_spec", "spec-" + hashlib.sha1(s.encode()).hexdigest()[:12], s.encode())


# fuzz_aggregate's layout (see fuzz_aggregate.cpp): head, rule, n-1, d-1 (u16),
# f, m, hostile rows, honest mode, hostile mode, b*16, seed (u16), pick (u64),
# [spec: length, text], then raw value bits (a fixed pseudo-random stream after
# the end of the input).
RULES = ["mean", "median", "trimmed", "krum", "multi-krum", "bulyan", "sign",
         "noisy-median", "noisy-sign", "spec",
         "geometric-median", "centered-clipping", "meamed", "mda", "monna", "caf", "smea"]


def agg(double, form, rule, n, d, f, m=0, hostile=0, honest_mode=0, hostile_mode=0, b=8,
        seed=1, pick=0x0123456789ABCDEF, spec=None, values=b""):
    head = (1 if double else 0) | (form << 1)
    out = bytes([head, RULES.index(rule), n - 1]) + struct.pack("<H", d - 1)
    out += bytes([f, m, hostile, honest_mode, hostile_mode, b]) + struct.pack("<H", seed)
    out += struct.pack("<Q", pick)
    if spec is not None:
        out += bytes([len(spec)]) + spec.encode()
    return out + values


def aggregate_seeds():
    k = 0

    def put(data):
        nonlocal k
        write("fuzz_aggregate", "seed-%03d" % k, data)
        k += 1

    for double in (False, True):
        for form in range(3):
            for hm in range(5):
                put(agg(double, form, "median", 9, 37, 4, hostile=4, honest_mode=form, hostile_mode=hm))
                put(agg(double, form, "trimmed", 11, 300, 3, hostile=3, honest_mode=hm % 4, hostile_mode=hm))
                put(agg(double, form, "krum", 7, 20, 2, hostile=2, honest_mode=(hm + 1) % 4, hostile_mode=hm))
                put(agg(double, form, "multi-krum", 12, 64, 3, m=0, hostile=3, hostile_mode=hm))
                put(agg(double, form, "bulyan", 11, 40, 2, hostile=2, honest_mode=hm % 4, hostile_mode=hm))
            put(agg(double, form, "sign", 6, 17, 0, hostile=1, hostile_mode=0))
            put(agg(double, form, "noisy-median", 5, 33, 0, hostile=2, b=4))
            put(agg(double, form, "noisy-sign", 8, 33, 0, hostile=3, b=200))
            put(agg(double, form, "mean", 4, 600, 0))
            # requirement edges: one row short, m > n
            put(agg(double, form, "bulyan", 10, 8, 2))
            put(agg(double, form, "multi-krum", 7, 8, 2, m=8))
            put(agg(double, form, "trimmed", 4, 8, 2))
            # all-equal rows and exact ties (honest mode 1: small integers)
            put(agg(double, form, "krum", 9, 16, 3, honest_mode=1))
            put(agg(double, form, "multi-krum", 9, 16, 3, m=9, hostile=3, honest_mode=1, hostile_mode=1))
    for spec in ["detox(r=3, buckets=2, inner=mean, outer=median)", "detox(r=1, outer=bulyan(f=1))",
                 "detox(r=3)", "multi-krum(f=1, m=2)", "noisy-median(b=1e30, seed=3)"]:
        for double in (False, True):
            put(agg(double, 0, "spec", 9, 12, 0, spec=spec))
    # Regression: the even-n median of two denorm_min was 0 (a/2 + b/2).
    put(agg(False, 0, "median", 2, 1, 0, honest_mode=2, values=struct.pack("<II", 1, 1)))
    put(agg(True, 0, "median", 2, 1, 0, honest_mode=2, values=struct.pack("<QQ", 1, 1)))
    # Stages on hostile rows (appended: the seeds above keep their names).
    for spec in ["clip(c=1, then=median)", "nnm(f=2, then=trimmed-mean(f=2))",
                 "arc(f=2, then=krum(f=2))", "bucketing(s=2, seed=5, then=median)",
                 "clip(c=3, then=arc(f=1, then=nnm(f=1, then=krum(f=1))))",
                 "detox(r=3, outer=nnm(f=1, then=median))"]:
        for double in (False, True):
            for hm in (0, 2, 4):
                put(agg(double, 0, "spec", 9, 12, 2, hostile=2, hostile_mode=hm, spec=spec))
    # the rules after 2020, with hostile rows
    for double in (False, True):
        for hm in range(5):
            put(agg(double, hm % 3, "geometric-median", 9, 40, 4, hostile=4, hostile_mode=hm))
            put(agg(double, hm % 3, "centered-clipping", 9, 40, 2, hostile=2, hostile_mode=hm))
            put(agg(double, hm % 3, "meamed", 11, 40, 3, hostile=3, hostile_mode=hm))
            put(agg(double, hm % 3, "mda", 9, 20, 2, hostile=2, hostile_mode=hm))
            put(agg(double, hm % 3, "monna", 9, 20, 2, hostile=2, hostile_mode=hm))
            put(agg(double, hm % 3, "caf", 9, 20, 2, hostile=2, hostile_mode=hm))
            put(agg(double, hm % 3, "smea", 9, 20, 2, hostile=2, hostile_mode=hm))


if __name__ == "__main__":
    npy_seeds()
    spec_seeds()
    aggregate_seeds()
