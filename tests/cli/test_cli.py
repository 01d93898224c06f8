#!/usr/bin/python3
"""End-to-end tests of the robustagg command-line tool.

Usage: test_cli.py ROBUSTAGG_BINARY [results|errors|all]

  results  aggregates random float32/float64 arrays with the CLI and compares the
           output with NumPy computations written from the rules' definitions
           (docs/rules.md), plus rules/--help/--version.
  errors   a corpus of malformed .npy files and bad command lines: each must end
           with exit code 1 or 2, exactly one line "robustagg: ..." on stderr, no
           signal, and no output or temporary file left behind.

Plain Python with asserts; prints "N passed, 0 failed" and exits non-zero on any
failure. Exits 77 (CTest's skip code) when NumPy is missing.
"""

import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

try:
    import numpy as np
except ImportError:
    print("numpy is not available for", sys.executable, "- skipping")
    sys.exit(77)

CLI = os.path.abspath(sys.argv[1])
GROUP = sys.argv[2] if len(sys.argv) > 2 else "all"
RULE_NAMES = ["mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan",
              "sign-vote", "noisy-median", "noisy-sign-vote", "clip", "nnm", "arc", "bucketing"]

passed = 0
failed = 0


def check(name, fn, *args):
    """Runs one test function; records and prints a failure instead of stopping."""
    global passed, failed
    try:
        fn(*args)
        passed += 1
    except Exception:  # noqa: BLE001 - report every failure and keep going
        failed += 1
        print(f"FAILED: {name}")
        traceback.print_exc()


def run(args, limit_memory=None, limit_file_size=None):
    def preexec():
        if limit_memory:
            resource.setrlimit(resource.RLIMIT_AS, (limit_memory, limit_memory))
        if limit_file_size:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))
    limited = limit_memory or limit_file_size
    p = subprocess.run([CLI] + [str(a) for a in args], capture_output=True, timeout=120,
                       preexec_fn=preexec if limited else None)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def aggregate(rule, a, work, extra=()):
    """Saves a, runs the CLI, returns the loaded output (asserting success)."""
    inp = os.path.join(work, "in.npy")
    out = os.path.join(work, "out.npy")
    np.save(inp, a)
    if os.path.exists(out):
        os.remove(out)
    rc, so, se = run(["aggregate", "--rule", rule, *extra, inp, out])
    assert rc == 0, f"{rule}: exit {rc}, stderr {se!r}"
    assert so == "", f"{rule}: unexpected stdout {so!r}"
    r = np.load(out)
    assert r.dtype == a.dtype, f"{rule}: dtype {r.dtype}, expected {a.dtype}"
    assert r.shape == (a.shape[1],), f"{rule}: shape {r.shape}, expected {(a.shape[1],)}"
    assert sorted(os.listdir(work)) == ["in.npy", "out.npy"], os.listdir(work)
    return r


# --- NumPy references, written from the definitions (float64 arithmetic) ----------

def ref_mean(a):
    return a.astype(np.float64).mean(axis=0)


def ref_median(a):
    # np.median: the middle value for odd n, the mean of the two middle values for even n
    return np.median(a.astype(np.float64), axis=0)


def ref_trimmed_mean(a, f):
    s = np.sort(a.astype(np.float64), axis=0)
    return s[f:a.shape[0] - f].mean(axis=0)


def ref_sign_vote(a):
    return np.sign(np.sign(a.astype(np.float64)).sum(axis=0))


def sq_distances(a):
    x = a.astype(np.float64)
    diff = x[:, None, :] - x[None, :, :]
    return (diff * diff).sum(axis=2)


def krum_scores(D, idx, k):
    """score(i) = sum of the k smallest squared distances to the other rows in idx."""
    scores = []
    for i in idx:
        others = np.array([D[i, j] for j in idx if j != i])
        scores.append(np.sort(others)[:k].sum())
    return np.array(scores)


def ref_krum_index(a, f):
    n = a.shape[0]
    s = krum_scores(sq_distances(a), list(range(n)), n - f - 2)
    return int(np.argmin(s)), s  # np.argmin: the first (lowest) index on ties


def ref_multi_krum(a, f, m):
    n = a.shape[0]
    s = krum_scores(sq_distances(a), list(range(n)), n - f - 2)
    order = np.argsort(s, kind="stable")  # ties to the lowest index
    return a.astype(np.float64)[order[:m]].mean(axis=0)


def ref_bulyan(a, f):
    n = a.shape[0]
    D = sq_distances(a)
    remaining = list(range(n))
    picked = []
    theta = n - 2 * f
    while len(picked) < theta:
        if len(remaining) == 1:
            best = remaining[0]
        else:
            k = max(1, len(remaining) - f - 2)
            best = remaining[int(np.argmin(krum_scores(D, remaining, k)))]
        picked.append(best)
        remaining.remove(best)
    P = a.astype(np.float64)[picked]
    beta = theta - 2 * f
    med = np.median(P, axis=0)
    out = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        closest = np.argsort(np.abs(P[:, j] - med[j]), kind="stable")[:beta]
        out[j] = P[closest, j].mean()
    return out


def assert_close(got, ref, dtype, what, ulps=8):
    """|got - ref| within a few units of rounding of the result's type."""
    eps = np.finfo(dtype).eps
    scale = np.maximum(np.abs(ref), 1e-30)
    tol = ulps * eps * np.maximum(scale, np.abs(ref).max() if ref.size else 1.0)
    err = np.abs(got.astype(np.float64) - ref)
    bad = np.nonzero(err > tol)[0]
    assert bad.size == 0, (f"{what}: {bad.size} coordinates off, first {bad[0]}: got "
                           f"{got[bad[0]]!r}, expected {ref[bad[0]]!r}")


# --- results group --------------------------------------------------------------

SHAPES = [(1, 1), (2, 3), (5, 1), (7, 17), (8, 33), (10, 64), (15, 257)]


def test_coordinatewise(work, dtype, rng):
    for n, d in SHAPES:
        a = (rng.standard_normal((n, d)) * 3 + 1).astype(dtype)
        what = f"{np.dtype(dtype).name} n={n} d={d}"
        assert_close(aggregate("mean", a, work), ref_mean(a), dtype, "mean " + what, ulps=4 * n)
        med = aggregate("median", a, work)
        if n % 2 == 1:  # the median of an odd count is one of the inputs: exact
            assert np.array_equal(med, ref_median(a).astype(dtype)), "median " + what
        else:
            assert_close(med, ref_median(a), dtype, "median " + what, ulps=1)
        for f in range(0, (n - 1) // 2 + 1):
            got = aggregate(f"trimmed-mean(f={f})", a, work)
            assert_close(got, ref_trimmed_mean(a, f), dtype, f"trimmed-mean(f={f}) " + what,
                         ulps=4 * n)
        # median of n = 2f+1 is trimmed-mean(f) with f = (n-1)/2 (one value left)
        assert np.array_equal(aggregate("sign-vote", a, work), ref_sign_vote(a).astype(dtype))
        # b = 0: the noisy rules are exactly the plain ones
        assert np.array_equal(aggregate("noisy-median(b=0, seed=5)", a, work), med)
        assert np.array_equal(aggregate("noisy-sign-vote(b=0)", a, work),
                              ref_sign_vote(a).astype(dtype))


def test_sign_vote_ties(work, dtype, rng):
    # small integers: many zeros and tied votes; sign(0) = 0 and a tie gives 0
    for n in (2, 4, 5, 6):
        a = rng.integers(-2, 3, size=(n, 200)).astype(dtype)
        assert np.array_equal(aggregate("sign-vote", a, work), ref_sign_vote(a).astype(dtype))
    # hand-computed: column sums of signs 1-1=0, 1+1=2, -1+0=-1, 0+0=0
    a = np.array([[3, 2, -1, 0], [-4, 5, 0, 0]], dtype=dtype)
    assert np.array_equal(aggregate("sign-vote", a, work), np.array([0, 1, -1, 0], dtype=dtype))


def test_krum(work, dtype, rng):
    for n, d, f in [(5, 1, 0), (7, 10, 1), (9, 33, 2), (12, 100, 3), (15, 257, 4)]:
        a = rng.standard_normal((n, d)).astype(dtype)
        a[0] += 20  # an outlier
        got = aggregate(f"krum(f={f})", a, work)
        rows = [i for i in range(n) if np.array_equal(a[i], got)]
        assert rows, f"krum(f={f}) n={n}: the output is not one of the input rows"
        best, s = ref_krum_index(a, f)
        second = np.partition(s, 1)[1]
        if second - s[best] > 1e-4 * abs(s[best]):  # not a near-tie: the exact row
            assert best in rows, f"krum(f={f}) n={n}: chose rows {rows}, expected {best}"
        # multi-krum: the mean of the m lowest scores
        for m in (1, n - f, n):
            got = aggregate(f"multi-krum(f={f}, m={m})", a, work)
            assert_close(got, ref_multi_krum(a, f, m), dtype, f"multi-krum(f={f}, m={m})",
                         ulps=4 * n)
        got = aggregate(f"multi-krum(f={f})", a, work)  # m defaults to n - f
        assert_close(got, ref_multi_krum(a, f, n - f), dtype, "multi-krum default m", ulps=4 * n)


def test_krum_tie(work, dtype):
    # 1-D points 1, -1, -2, 2, -3, 3, 10 (row i repeated over 3 coordinates), f = 1,
    # n-f-2 = 4 neighbours, distances squared and multiplied by d = 3:
    #   score(1)  = 3 * (4 + 9 + 1 + 16 + 4 + 81 -> 4 smallest 1+4+4+9)  = 3 * 18 = 54
    #   score(-1) = 3 * (4 + 1 + 9 + 4 + 16 + 121 -> 1+4+4+9)           = 3 * 18 = 54
    #   score(-2) = 3 * (9 + 1 + 16 + 1 + 25 + 144 -> 1+1+9+16)         = 3 * 27 = 81
    # rows 0 and 1 tie; the lowest index wins: the output is row 0 (all 1).
    a = np.repeat(np.array([[1], [-1], [-2], [2], [-3], [3], [10]], dtype=dtype), 3, axis=1)
    assert np.array_equal(aggregate("krum(f=1)", a, work), np.ones(3, dtype=dtype))
    assert ref_krum_index(a, 1)[0] == 0
    # swapped, the tie goes to -1
    b = a[[1, 0, 2, 3, 4, 5, 6]]
    assert np.array_equal(aggregate("krum(f=1)", b, work), -np.ones(3, dtype=dtype))


def test_bulyan(work, dtype, rng):
    for n, d, f in [(3, 5, 0), (7, 9, 1), (11, 40, 2), (15, 65, 3)]:
        a = rng.standard_normal((n, d)).astype(dtype)
        a[:f] *= 50  # f outliers
        got = aggregate(f"bulyan(f={f})", a, work)
        assert_close(got, ref_bulyan(a, f), dtype, f"bulyan(f={f}) n={n}", ulps=4 * n)


def test_formats(work, rng):
    # .npy versions 2.0 and 3.0 and the '=' / '|' / bare descr forms are accepted
    a = rng.standard_normal((6, 7))
    for version in ((1, 0), (2, 0), (3, 0)):
        for dtype in (np.float32, np.float64):
            x = a.astype(dtype)
            inp = os.path.join(work, "v.npy")
            out = os.path.join(work, "vo.npy")
            with open(inp, "wb") as fh:
                np.lib.format.write_array(fh, x, version=version)
            rc, _, se = run(["aggregate", "--rule", "median", inp, out])
            assert rc == 0, f"version {version}: {se}"
            assert np.array_equal(np.load(out), np.median(x.astype(np.float64), axis=0).astype(dtype))
            os.remove(out)
    x = a.astype(np.float32)
    for descr in ("=f4", "|f4", "f4"):
        inp = os.path.join(work, "d.npy")
        out = os.path.join(work, "do.npy")
        with open(inp, "wb") as fh:
            fh.write(npy_bytes(descr, (6, 7), x.tobytes()))
        rc, _, se = run(["aggregate", "--rule", "mean", inp, out])
        assert rc == 0, f"descr {descr}: {se}"
        assert_close(np.load(out), ref_mean(x), np.float32, "descr " + descr, ulps=24)
        os.remove(out)
    # a header that is not padded to 64 bytes, with double quotes: still valid
    inp = os.path.join(work, "u.npy")
    out = os.path.join(work, "uo.npy")
    with open(inp, "wb") as fh:
        hdr = b'{"descr":"<f8","shape":(6,7),"fortran_order":False}\n'
        fh.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + a.tobytes())
    rc, _, se = run(["aggregate", "--rule", "sign-vote", inp, out])
    assert rc == 0, se
    assert np.array_equal(np.load(out), ref_sign_vote(a))


def test_output_header(work, rng):
    # The output is byte for byte what np.save writes for the same vector:
    # format 1.0, header padded with spaces to a multiple of 64 bytes, '\n' last.
    for dtype in (np.float32, np.float64):
        for d in (1, 9, 10, 12345):
            a = rng.standard_normal((3, d)).astype(dtype)
            r = aggregate("median", a, work)
            with open(os.path.join(work, "out.npy"), "rb") as fh:
                raw = fh.read()
            assert raw[:8] == b"\x93NUMPY\x01\x00"
            hlen = struct.unpack("<H", raw[8:10])[0]
            assert (10 + hlen) % 64 == 0 and raw[10 + hlen - 1:10 + hlen] == b"\n"
            ref = os.path.join(work, "ref.npy")
            np.save(ref, r)
            with open(ref, "rb") as fh:
                assert fh.read() == raw, f"d={d}: output differs from np.save"
            os.remove(ref)


def test_large_and_nonfinite(work, rng):
    a = rng.standard_normal((5, 300001)).astype(np.float32)
    got = aggregate("median", a, work)
    assert np.array_equal(got, ref_median(a).astype(np.float32))
    # a NaN row and an Inf row among 7: the median stays finite (order-based rules
    # treat NaN as an extreme value); krum(f=2) never picks them
    b = rng.standard_normal((7, 50))
    b[1] = np.nan
    b[4] = np.inf
    assert np.isfinite(aggregate("median", b, work)).all()
    k = aggregate("krum(f=2)", b, work)
    assert any(np.array_equal(k, b[i]) for i in (0, 2, 3, 5, 6))


def test_overwrite_existing(work, rng):
    a = rng.standard_normal((4, 3))
    out = os.path.join(work, "out.npy")
    with open(out, "wb") as fh:
        fh.write(b"old contents")
    np.save(os.path.join(work, "in.npy"), a)
    rc, _, se = run(["aggregate", "--rule=mean", os.path.join(work, "in.npy"), out])
    assert rc == 0, se
    assert_close(np.load(out), ref_mean(a), np.float64, "overwrite", ulps=8)
    assert sorted(os.listdir(work)) == ["in.npy", "out.npy"]
    # OUT a symbolic link: the file it points to is replaced, the link stays
    target = os.path.join(work, "target.npy")
    link = os.path.join(work, "link.npy")
    with open(target, "wb") as fh:
        fh.write(b"old")
    os.symlink("target.npy", link)
    rc, _, se = run(["aggregate", "--rule", "median", os.path.join(work, "in.npy"), link])
    assert rc == 0, se
    assert os.path.islink(link)
    assert np.array_equal(np.load(target), ref_median(a))
    for name in ("out.npy", "target.npy", "link.npy"):
        os.remove(os.path.join(work, name))


def test_report(work, rng):
    a = rng.standard_normal((15, 100)).astype(np.float32)
    inp = os.path.join(work, "in.npy")
    np.save(inp, a)
    out = os.path.join(work, "out.npy")
    rc, so, se = run(["aggregate", "--report", "--rule", "multi-krum(f=2)", inp, out])
    assert rc == 0 and so == ""
    assert se == "rule multi-krum(f=2, m=0): n=15 d=100\n", repr(se)
    os.remove(out)


def ref_clip(x, c):
    """Stage clip(c): rows of norm > c scaled to norm c (x is float64, finite)."""
    out = x.copy()
    norms = np.linalg.norm(x, axis=1)
    for i in range(len(x)):
        if norms[i] > c:
            out[i] = x[i] * (c / norms[i])
    return out


def ref_arc(x, f):
    """Stage arc(f): k = floor(2f(n-f)/n) rows of largest norm scaled to the (n-k)-th norm."""
    n = len(x)
    k = 2 * f * (n - f) // n
    if k == 0:
        return x.copy()
    return ref_clip(x, np.sort(np.linalg.norm(x, axis=1))[n - k - 1])


def ref_nnm(x, f):
    """Stage nnm(f): each row the mean of itself and its n-f-1 nearest rows (ties: lower index)."""
    n = len(x)
    D = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    out = x.copy()
    for i in range(n):
        others = sorted((j for j in range(n) if j != i), key=lambda j: (D[i, j], j))
        out[i] = x[[i] + others[: n - f - 1]].mean(0)
    return out


def test_stages(work, dtype, rng):
    a = (rng.standard_normal((9, 40)) * np.linspace(0.5, 3, 9)[:, None]).astype(dtype)
    x = a.astype(np.float64)
    inp = os.path.join(work, "in.npy")
    np.save(inp, a)
    out = os.path.join(work, "out.npy")
    cases = [
        ("clip(c=4, then=mean)", ref_clip(x, 4).mean(0)),
        ("nnm(f=2, then=mean)", ref_nnm(x, 2).mean(0)),
        ("arc(f=2, then=mean)", ref_arc(x, 2).mean(0)),
        ("clip(c=5, then=nnm(f=1, then=median))", np.median(ref_nnm(ref_clip(x, 5), 1), axis=0)),
        # 9 rows in 3 buckets of 3: the mean of the bucket means is the mean
        ("bucketing(s=3, seed=4, then=mean)", x.mean(0)),
    ]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for spec, want in cases:
        rc, so, se = run(["aggregate", "--report", "--rule", spec, inp, out])
        assert rc == 0, (spec, se)
        got = np.load(out)
        assert got.dtype == a.dtype and got.shape == (40,)
        if want is not None:
            assert np.allclose(got, want, rtol=tol, atol=tol), (spec, np.abs(got - want).max())
        assert "stage " in se, (spec, se)
        os.remove(out)
    # DETOX with a stage: groups of 3 replicas of a's first 3 rows; NNM on the 3 winners
    rep = os.path.join(work, "rep.npy")
    np.save(rep, np.repeat(a[:3], 3, axis=0))
    rc, so, se = run(["aggregate", "--report", "--rule", "detox(r=3, outer=nnm(f=1, then=mean))",
                      rep, out])
    assert rc == 0, se
    assert "stage vote(r=3): rows 9 -> 3\nstage nnm(f=1): rows 3 -> 3\n" in se, se
    assert np.allclose(np.load(out), ref_nnm(x[:3], 1).mean(0), rtol=tol, atol=tol)
    os.remove(out)
    rc, so, se = run(["aggregate", "--report", "--rule", "clip(c=4, then=mean)", inp, out])
    clipped = int((np.linalg.norm(x, axis=1) > 4).sum())
    assert f"stage clip: rows 9 -> 9, changed {clipped}" in se, se
    os.remove(out)
    rc, so, se = run(["aggregate", "--rule", "nnm(f=3, then=krum(f=4))", inp, out])
    assert rc == 1 and "nnm(f=3, then=krum(f=4)): krum(f=4) needs n >= 2f+3 = 11 gradients, got 9" in se, se
    rc, so, se = run(["aggregate", "--rule", "nnm(f=2)", inp, out])
    assert rc == 2 and "needs then=RULE" in se, se


def ref_bucketing(x, s, seed=0):
    """Stage bucketing(s, seed): the documented permutation (splitmix64 Fisher-Yates), then
    the mean of each group of s permuted rows."""
    M = (1 << 64) - 1

    def mix64(z):
        z = (z + 0x9E3779B97F4A7C15) & M
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    n = len(x)
    perm = list(range(n))
    key = mix64(mix64(seed) ^ n)
    for i in range(n - 1, 0, -1):
        j = mix64(key ^ i) % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.array([x[perm[b:b + s]].mean(0) for b in range(0, n, s)])


def test_stage_output(work, dtype, rng):
    """`robustagg stage`: the matrix a stage outputs, against NumPy references."""
    x = (rng.standard_normal((9, 40)) * rng.uniform(0.5, 3.0, size=(9, 1))).astype(dtype)
    xd = x.astype(np.float64)
    inp = os.path.join(work, "in.npy")
    out = os.path.join(work, "out.npy")
    np.save(inp, x)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    norms = np.linalg.norm(xd, axis=1)
    c = float(np.median(norms))
    for spec, ref in [(f"clip(c={c!r})", ref_clip(xd, c)), ("nnm(f=2)", ref_nnm(xd, 2)),
                      ("arc(f=2)", ref_arc(xd, 2)), ("bucketing(s=2, seed=5)", ref_bucketing(xd, 2, 5)),
                      ("bucketing(s=4)", ref_bucketing(xd, 4))]:
        rc, so, se = run(["stage", "--stage", spec, inp, out])
        assert rc == 0 and so == "" and se == "", (spec, rc, se)
        got = np.load(out)
        assert got.dtype == dtype and got.shape == ref.shape, (spec, got.dtype, got.shape)
        assert np.allclose(got, ref, rtol=tol, atol=tol), spec
        os.remove(out)
    # rows the stage leaves alone are copied bit for bit (clip with a huge c)
    rc, _, se = run(["stage", "--stage=clip(c=1e30)", inp, out])
    assert rc == 0 and np.load(out).tobytes() == x.tobytes(), se
    os.remove(out)
    rc, so, se = run(["stage", "--report", "-s", "arc(f=2)", inp, out])
    assert rc == 0 and se == "stage arc(f=2): n=9 d=40\nstage arc(f=2): rows 9 -> 9, changed 3\n", repr(se)
    os.remove(out)
    # a rule, a then=, a requirement not met: one line, no output file
    for args, code, text in [
            (["stage", "--stage", "krum(f=1)", inp, out], 2,
             "stage spec 'krum(f=1)': 'krum' is a rule, not a stage (stages: clip, nnm, arc, bucketing)"),
            (["stage", "--stage", "nnm(f=1, then=mean)", inp, out], 2, "without then="),
            (["stage", "--stage", "nnm(f=5)", inp, out], 1, "nnm(f=5) needs n >= 2f+1 = 11 gradients, got 9"),
            (["stage", inp, out], 2, "stage: missing --stage SPEC"),
            (["stage", "--stage", "clip(c=0)", inp, out], 2, "c must be finite and > 0")]:
        se = expect_failure(args, work, codes=(code,), contains=text)
    assert not os.path.exists(out)


def test_attack_listing():
    rc, so, se = run(["attacks"])
    assert rc == 0 and se == ""
    heads = [line.strip() for line in so.splitlines() if line.startswith("  ") and not line.startswith("      ")]
    names = [h.split("(")[0].split(" ")[0] for h in heads]
    assert names == ["none", "alie", "ipm", "reverse", "constant", "gaussian", "nan", "inf", "sign-flip",
                     "mimic", "optimal-alie", "optimal-ipm", "min-max", "min-sum", "label-flip"], names
    assert "label-flip(classes=10)  [data]" in heads and "min-max(p=std)  [gradient]" in heads, heads
    rc, so, se = run(["attacks", "--help"])
    assert rc == 0 and so.startswith("Usage: robustagg attacks")
    rc, so, se = run(["attacks", "x"])
    assert rc == 2 and se == "robustagg: attacks: unexpected argument 'x'\n", se


def test_listing():
    rc, so, se = run(["rules"])
    assert rc == 0 and se == ""
    heads = [line.strip().split("(")[0] for line in so.splitlines() if line.startswith("  ")
             and not line.startswith("      ")]
    for name in RULE_NAMES:
        assert name in heads, f"rules does not list {name}: {heads}"
    assert "requires n >= 4f+3" in so and "multi-krum(f, m=0)" in so
    for args in (["--help"], ["-h"], ["help"], ["aggregate", "--help"], ["rules", "--help"],
                 ["stage", "--help"]):
        rc, so, se = run(args)
        assert rc == 0 and so.startswith(("robustagg", "Usage")) and se == "", args
    rc, so, se = run(["--help"])
    assert "aggregate --rule SPEC" in so and "Exit codes" in so
    rc, so, se = run(["--version"])
    assert rc == 0 and so.startswith("robustagg ") and so.count(".") == 2, so


# --- errors group ---------------------------------------------------------------

def npy_bytes(descr, shape, data=b"", version=(1, 0), fortran="False", header=None):
    """A .npy file built by hand, so malformed ones can be written too."""
    if header is None:
        shape_txt = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_txt}, }}"
    if isinstance(header, str):
        header = header.encode("latin-1")
    fmt = "<H" if version[0] == 1 else "<I"
    pre = 8 + struct.calcsize(fmt)
    header += b" " * ((64 - (pre + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(header)) + header + data


def expect_failure(args, work, codes=(1, 2), contains=None, forbid=None, limit_memory=None,
                   limit_file_size=None):
    before = set(os.listdir(work))
    rc, so, se = run(args, limit_memory=limit_memory, limit_file_size=limit_file_size)
    assert rc in codes, f"{args}: exit code {rc} (expected {codes}), stderr {se!r}"
    assert so == "", f"{args}: stdout {so!r}"
    assert se.startswith("robustagg: ") and se.endswith("\n") and se.count("\n") == 1, \
        f"{args}: stderr is not one 'robustagg: ' line: {se!r}"
    if contains:
        assert contains in se, f"{args}: {contains!r} not in {se!r}"
    if forbid:
        assert forbid not in se, f"{args}: {forbid!r} in {se!r}"
    after = set(os.listdir(work))
    assert after == before, f"{args}: files left behind: {sorted(after - before)}"
    return se


def malformed_corpus(rng):
    good = np.arange(6, dtype="<f8").reshape(3, 2)
    valid = npy_bytes("<f8", (3, 2), good.tobytes())
    corpus = []
    # truncated at every byte of the header and at a few places in the data
    for cut in list(range(0, 128)) + [129, 140, 150, len(valid) - 1]:
        corpus.append((f"truncated at {cut}", valid[:cut], None))
    # the header text itself cut at every byte (the length field telling the truth)
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }"
    for cut in range(len(text)):
        corpus.append((f"header text cut at {cut}", npy_bytes(None, None, good.tobytes(),
                                                              header=text[:cut]), "header"))
    corpus += [
        ("wrong magic", b"\x93NUMPX" + valid[6:], "magic"),
        ("no magic byte", b"NUMPY" + valid[5:], "magic"),
        ("version 9.0", valid[:6] + b"\x09\x00" + valid[8:], "version"),
        ("version 1.1", valid[:6] + b"\x01\x01" + valid[8:], "version"),
        ("version 0.0", valid[:6] + b"\x00\x00" + valid[8:], "version"),
        ("header len beyond file", valid[:8] + struct.pack("<H", 60000) + valid[10:], "header length"),
        ("v2 header len 4G", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + valid[10:], "header length"),
        ("header len zero", valid[:8] + b"\x00\x00" + valid[10:], None),
        ("shape 10^12 elements", npy_bytes("<f4", (1000000, 1000000), good.tobytes()), "claims"),
        ("shape product overflows", npy_bytes("<f4", (2 ** 32, 2 ** 32), good.tobytes()), "overflow"),
        ("shape bytes overflow", npy_bytes("<f8", (2 ** 62, 2), good.tobytes()), "overflow"),
        ("dimension overflows 64 bits", npy_bytes("<f8", (10 ** 30, 1), good.tobytes()), "overflow"),
        ("negative shape", npy_bytes("<f8", (-1, 2), good.tobytes()), "negative"),
        ("fortran order", npy_bytes("<f8", (3, 2), good.tobytes(), fortran="True"), "fortran"),
        ("fortran order garbage", npy_bytes("<f8", (3, 2), good.tobytes(), fortran="Maybe"), None),
        ("big-endian f4", npy_bytes(">f4", (3, 2), good.astype(">f4").tobytes()), "big-endian"),
        ("big-endian f8", npy_bytes(">f8", (3, 2), good.astype(">f8").tobytes()), "big-endian"),
        ("int32", npy_bytes("<i4", (3, 2), good.astype("<i4").tobytes()), "dtype"),
        ("float16", npy_bytes("<f2", (3, 2), good.astype("<f2").tobytes()), "dtype"),
        ("complex64", npy_bytes("<c8", (3, 2), good.astype("<c8").tobytes()), "dtype"),
        ("bool", npy_bytes("|b1", (3, 2), good.astype("|b1").tobytes()), "dtype"),
        ("object", npy_bytes("|O", (3, 2), b"\x00" * 48), "dtype"),
        ("unicode", npy_bytes("<U3", (3, 2), b"\x00" * 72), "dtype"),
        ("structured", npy_bytes(None, None, b"\x00" * 48,
                                 header="{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3, 2), }"),
         "structured"),
        ("rank 0", npy_bytes("<f8", (), good.tobytes()[:8]), "2-D"),
        ("rank 1", npy_bytes("<f8", (6,), good.tobytes()), "2-D"),
        ("rank 3", npy_bytes("<f8", (3, 1, 2), good.tobytes()), "2-D"),
        ("zero rows", npy_bytes("<f8", (0, 2)), "empty"),
        ("zero columns", npy_bytes("<f8", (3, 0)), "empty"),
        ("header a list", npy_bytes(None, None, good.tobytes(), header="[1, 2, 3]"), "dict"),
        ("header a string", npy_bytes(None, None, good.tobytes(), header="'descr'"), "dict"),
        ("header empty dict", npy_bytes(None, None, good.tobytes(), header="{}"), "missing"),
        ("header missing shape", npy_bytes(None, None, good.tobytes(),
                                           header="{'descr': '<f8', 'fortran_order': False}"), "shape"),
        ("header extra key", npy_bytes(None, None, good.tobytes(),
                                       header="{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), 'x': 1}"),
         "key"),
        ("header duplicate key", npy_bytes(None, None, good.tobytes(),
                                           header="{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)}"),
         "twice"),
        ("header unterminated string", npy_bytes(None, None, good.tobytes(),
                                                 header="{'descr: <f8, 'fortran_order': False}"), None),
        ("header unclosed dict", npy_bytes(None, None, good.tobytes(),
                                           header="{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), "),
         None),
        ("header shape not a tuple", npy_bytes(None, None, good.tobytes(),
                                               header="{'descr': '<f8', 'fortran_order': False, 'shape': [3, 2]}"),
         "tuple"),
        ("header shape float", npy_bytes(None, None, good.tobytes(),
                                         header="{'descr': '<f8', 'fortran_order': False, 'shape': (3.0, 2)}"),
         None),
        ("header trailing junk", npy_bytes(None, None, good.tobytes(),
                                           header="{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2)} x"),
         "after"),
        ("header garbage bytes", npy_bytes(None, None, good.tobytes(),
                                           header=bytes(rng.integers(0, 256, 100, dtype=np.uint8))), None),
        ("header NUL bytes", npy_bytes(None, None, good.tobytes(), header=b"\x00" * 50), None),
        ("trailing data", valid + b"\x00" * 8, "trailing"),
        ("data one byte short", valid[:-1], "claims"),
        ("garbage file", bytes(rng.integers(0, 256, 1000, dtype=np.uint8)), "magic"),
        ("empty file", b"", "empty"),
        ("text file", b"1 2 3\n4 5 6\n", "magic"),
    ]
    return corpus


def test_malformed(work, rng):
    inp = os.path.join(work, "bad.npy")
    outdir = os.path.join(work, "out")
    os.mkdir(outdir)
    out = os.path.join(outdir, "out.npy")
    for name, data, contains in malformed_corpus(rng):
        with open(inp, "wb") as fh:
            fh.write(data)
        try:
            se = expect_failure(["aggregate", "--rule", "median", inp, out], outdir, codes=(1,),
                                contains=contains, forbid="out of memory")
        except AssertionError as e:
            raise AssertionError(f"corpus entry '{name}': {e}") from None
        assert "bad.npy" in se, f"'{name}': the message does not name the file: {se!r}"
    # and every one of them leaves an existing OUT untouched
    with open(out, "wb") as fh:
        fh.write(b"precious")
    for name, data, _ in malformed_corpus(rng)[::7]:
        with open(inp, "wb") as fh:
            fh.write(data)
        expect_failure(["aggregate", "--rule", "median", inp, out], outdir, codes=(1,))
        with open(out, "rb") as fh:
            assert fh.read() == b"precious", f"'{name}' changed the existing output"


def test_file_errors(work):
    good = os.path.join(work, "good.npy")
    np.save(good, np.arange(14, dtype=np.float32).reshape(7, 2))
    outdir = os.path.join(work, "o")
    os.mkdir(outdir)
    out = os.path.join(outdir, "out.npy")
    expect_failure(["aggregate", "--rule", "median", os.path.join(work, "nonexistent.npy"), out],
                   outdir, codes=(1,), contains="No such file")
    expect_failure(["aggregate", "--rule", "median", work, out], outdir, codes=(1,))
    expect_failure(["aggregate", "--rule", "median", good, os.path.join(work, "missing", "o.npy")],
                   work, codes=(1,))
    assert not os.path.exists(os.path.join(work, "missing"))
    expect_failure(["aggregate", "--rule", "median", good, outdir], work, codes=(1,),
                   contains="directory")
    expect_failure(["aggregate", "--rule", "median", good, outdir + "/"], work, codes=(1,))
    expect_failure(["aggregate", "--rule", "median", good, "/dev/null"], outdir, codes=(1,),
                   contains="not a regular file")
    # impossible f for the shape: the library's message, exit 1, nothing written
    se = expect_failure(["aggregate", "--rule", "krum(f=3)", good, out], outdir, codes=(1,))
    assert "krum(f=3) needs n >= 2f+3 = 9 gradients, got 7" in se, se
    se = expect_failure(["aggregate", "--rule", "bulyan(f=2)", good, out], outdir, codes=(1,))
    assert "bulyan(f=2) needs n >= 4f+3 = 11" in se, se
    expect_failure(["aggregate", "--rule", "trimmed-mean(f=4)", good, out], outdir, codes=(1,))
    expect_failure(["aggregate", "--rule", "multi-krum(f=1, m=8)", good, out], outdir, codes=(1,))


def test_same_file(work):
    good = os.path.join(work, "same.npy")
    np.save(good, np.arange(14, dtype=np.float32).reshape(7, 2))
    with open(good, "rb") as fh:
        original = fh.read()
    os.link(good, os.path.join(work, "hard.npy"))
    os.symlink("same.npy", os.path.join(work, "soft.npy"))
    sub = os.path.join(work, "sub")
    os.mkdir(sub)
    for out in (good, os.path.join(work, ".", "same.npy"), os.path.join(sub, "..", "same.npy"),
                os.path.join(work, "hard.npy"), os.path.join(work, "soft.npy")):
        expect_failure(["aggregate", "--rule", "median", good, out], work, codes=(2,),
                       contains="refusing to overwrite the input")
        with open(good, "rb") as fh:
            assert fh.read() == original, f"OUT={out} modified the input"
    # relative paths from the CLI's working directory
    p = subprocess.run([CLI, "aggregate", "--rule", "mean", "same.npy", "./same.npy"], cwd=work,
                       capture_output=True)
    assert p.returncode == 2 and b"refusing" in p.stderr


def test_usage_errors(work):
    good = os.path.join(work, "u.npy")
    np.save(good, np.ones((5, 2)))
    out = os.path.join(work, "uo.npy")
    cases = [
        [],
        ["frobnicate"],
        ["--frobnicate"],
        ["aggregate"],
        ["aggregate", good, out],  # no --rule
        ["aggregate", "--rule"],
        ["aggregate", "--rule", "mean", good],
        ["aggregate", "--rule", "mean", good, out, out + "2"],
        ["aggregate", "--rule", "mean", "--rule", "median", good, out],
        ["aggregate", "--rule", "mean", "--bogus", good, out],
        ["rules", "extra"],
    ]
    for spec in ["nosuch", "krum", "krum(f=)", "krum(f=-1)", "krum(g=1)", "median(", "mean)",
                 "trimmed-mean(f=1.5)", "noisy-median(b=nan)", "", "krum(f=99999999999)"]:
        cases.append(["aggregate", "--rule", spec, good, out])
        cases.append(["aggregate", f"--rule={spec}", good, out])
    for args in cases:
        expect_failure(args, work, codes=(2,))
    se = expect_failure(["aggregate", "--rule", "nosuch", good, out], work, codes=(2,))
    assert "unknown rule 'nosuch'" in se, se


def test_write_failure(work):
    # The output cannot be written completely (a 4 KiB file-size limit, 8 KiB to
    # write): exit 1, the temporary file removed, the existing OUT untouched.
    inp = os.path.join(work, "w.npy")
    np.save(inp, np.ones((3, 1000)))
    outdir = os.path.join(work, "wo")
    os.mkdir(outdir)
    out = os.path.join(outdir, "out.npy")
    with open(out, "wb") as fh:
        fh.write(b"precious")
    expect_failure(["aggregate", "--rule", "mean", inp, out], outdir, codes=(1,),
                   contains="write", limit_file_size=4096)
    with open(out, "rb") as fh:
        assert fh.read() == b"precious"
    # the same without the limit succeeds
    rc, _, se = run(["aggregate", "--rule", "mean", inp, out])
    assert rc == 0, se
    assert np.array_equal(np.load(out), np.ones(1000))


def test_memory_limit(work):
    # A header whose data really is present (a sparse 4 GiB file) but does not fit
    # the process's memory: a clean "out of memory" error, exit 1, no crash.
    limit = 1 << 30
    rc, _, _ = run(["--version"], limit_memory=limit)
    if rc != 0:
        print("memory-limit test skipped (the binary does not start under RLIMIT_AS, "
              "e.g. a sanitizer build)")
        return
    inp = os.path.join(work, "sparse.npy")
    n, d = 1 << 16, 1 << 13  # 2^29 float64 = 4 GiB
    with open(inp, "wb") as fh:
        fh.write(npy_bytes("<f8", (n, d)))
        fh.truncate(fh.tell() + n * d * 8)
    outdir = os.path.join(work, "mo")
    os.mkdir(outdir)
    try:
        expect_failure(["aggregate", "--rule", "mean", inp, os.path.join(outdir, "o.npy")],
                       outdir, codes=(1,), contains="out of memory", limit_memory=limit)
    finally:
        os.remove(inp)


def main():
    rng = np.random.default_rng(20240607)
    root = tempfile.mkdtemp(prefix="robustagg-cli-")
    try:
        def fresh(name):
            path = os.path.join(root, name)
            os.mkdir(path)
            return path
        if GROUP in ("results", "all"):
            for dtype in (np.float32, np.float64):
                tag = np.dtype(dtype).name
                check(f"coordinate-wise rules {tag}", test_coordinatewise, fresh("cw" + tag), dtype, rng)
                check(f"sign-vote ties {tag}", test_sign_vote_ties, fresh("sv" + tag), dtype, rng)
                check(f"krum and multi-krum {tag}", test_krum, fresh("kr" + tag), dtype, rng)
                check(f"krum tie {tag}", test_krum_tie, fresh("kt" + tag), dtype)
                check(f"bulyan {tag}", test_bulyan, fresh("bu" + tag), dtype, rng)
                check(f"stages {tag}", test_stages, fresh("st" + tag), dtype, rng)
                check(f"stage output {tag}", test_stage_output, fresh("so" + tag), dtype, rng)
            check("input formats", test_formats, fresh("fmt"), rng)
            check("output header", test_output_header, fresh("hdr"), rng)
            check("large and non-finite", test_large_and_nonfinite, fresh("big"), rng)
            check("overwrite existing output", test_overwrite_existing, fresh("ow"), rng)
            check("--report", test_report, fresh("rep"), rng)
            check("rules, --help, --version", test_listing)
            check("attacks", test_attack_listing)
        if GROUP in ("errors", "all"):
            check("malformed .npy corpus", test_malformed, fresh("mal"), rng)
            check("file errors", test_file_errors, fresh("fe"))
            check("OUT is IN", test_same_file, fresh("same"))
            check("usage errors", test_usage_errors, fresh("use"))
            check("write failure", test_write_failure, fresh("wf"))
            check("memory limit", test_memory_limit, fresh("mem"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
