"""Input kinds and layouts, out=, zero copy, inputs unmodified, error paths."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import robustagg as ra
from conftest import copy_count, grouped, same_bits

DTYPES = [np.float32, np.float64]
RULES = ["median", "krum(f=2)", "bulyan(f=2)", "trimmed-mean(f=3)", "detox(r=3)", "mean"]


def copies():
    return copy_count()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", RULES)
def test_layouts_give_the_contiguous_result(dtype, spec):
    base = grouped(dtype, d=41)
    big = np.zeros((30, 60), dtype)
    big[::2, 5:46] = base                      # rows strided by 2 rows, offset columns
    views = {
        "rows[::2]": big[::2, 5:46],
        "reversed": base[::-1][::-1],
        "column-major": np.asfortranarray(base),
        "columns[::2]": np.repeat(base, 2, axis=1)[:, ::2],
        "readonly": np.frombuffer(base.tobytes(), dtype).reshape(base.shape),
    }
    expected = ra.aggregate(base, spec)
    for name, v in views.items():
        before = v.copy()
        assert same_bits(ra.aggregate(v, spec), expected), name
        assert same_bits(v, before), name
    rows = [r for r in big[::2, 5:46]]
    assert same_bits(ra.aggregate(rows, spec), expected)
    assert same_bits(ra.aggregate([np.ascontiguousarray(np.repeat(r, 3)[::3]) for r in base],
                                  spec), expected)
    assert same_bits(ra.aggregate([np.repeat(r, 3)[::3] for r in base], spec), expected)


def test_zero_copy_counter():
    g = np.random.default_rng(0).normal(size=(16, 200)).astype(np.float32)
    c = copies()
    for v in (g, g[::2], g[:, :50], g[3:, 10:], list(g), tuple(g[:, :7]), g[::-1]):
        ra.aggregate(v, "median")
    assert copies() == c, "contiguous rows must be read in place"
    # Column-major, transposed and column-strided arrays: strided views, no copy here.
    for v in (np.asfortranarray(g), np.ascontiguousarray(g.T).T, g[:, ::2], g[::2, ::3]):
        assert same_bits(ra.aggregate(v, "median"), ra.aggregate(np.ascontiguousarray(v), "median"))
        assert same_bits(ra.aggregate(v, "krum(f=2)"), ra.aggregate(np.ascontiguousarray(v), "krum(f=2)"))
    assert copies() == c, "positive strides must be read in place"
    ra.aggregate(g[:, ::-1], "median")  # a negative column stride is copied
    assert copies() == c + 1
    ra.aggregate([g[0][::2], g[1][::2]], "median")  # both rows copied, one copy
    assert copies() == c + 2
    raw = bytearray(g.nbytes + 1)
    unaligned = np.frombuffer(raw, np.float32, count=g.size, offset=1).reshape(g.shape)
    unaligned[...] = g
    assert not unaligned.flags.aligned
    assert same_bits(ra.aggregate(unaligned, "median"), ra.aggregate(g, "median"))
    assert copies() == c + 3
    assert same_bits(ra.aggregate(list(unaligned), "median"), ra.aggregate(g, "median"))
    assert copies() == c + 4


# The peak RSS of this process's own memory: VmHWM (kB). Not ru_maxrss, which on
# Linux keeps the parent's RSS at fork across exec (a test process that imported
# torch would hide the copy).
PEAK = textwrap.dedent("""
    import sys, numpy as np, robustagg as ra
    def hwm():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    order = "F" if sys.argv[1] == "fortran" else "C"
    g = np.ones((15, 2_000_000), np.float32, order=order)   # 120 MB
    if sys.argv[1] == "list":
        g = list(g)
    out = np.empty(2_000_000, np.float32)
    out[:] = 0
    before = hwm()
    for spec in sys.argv[2:]:
        ra.aggregate(g, spec, out=out)
    after = hwm()
    print((after - before) / 1024)  # MB
""")


def peak_mb(layout, *specs):
    p = subprocess.run([sys.executable, "-c", PEAK, layout, *(specs or ("mean", "median"))],
                       capture_output=True, text=True, check=True)
    return float(p.stdout)


def test_no_second_copy_of_a_large_input():
    # The peak RSS grows by less than a tenth of the input for in-place layouts,
    # column-major included for the coordinate-wise rules (read in place) ...
    assert peak_mb("contiguous") < 12
    assert peak_mb("list") < 12
    assert peak_mb("fortran", "mean", "median", "sign-vote") < 12


def test_the_rss_check_sees_a_copy():
    # ... and by the input's size when a copy is made (the check works): a
    # distance-based rule gathers column-major input once into its workspace.
    assert peak_mb("fortran", "krum(f=2)") > 100


@pytest.mark.parametrize("dtype", DTYPES)
def test_out(dtype):
    g = grouped(dtype)
    out = np.full(g.shape[1], 7, dtype)
    assert ra.aggregate(g, "median", out=out) is out
    assert same_bits(out, ra.aggregate(g, "median"))
    out2 = np.empty(g.shape[1], dtype)
    assert ra.aggregate(list(g), ra.Bulyan(2), out=out2) is out2
    assert same_bits(out2, ra.aggregate(g, ra.Bulyan(2)))
    other = np.float64 if dtype == np.float32 else np.float32
    with pytest.raises(TypeError, match="out.*dtype"):
        ra.aggregate(g, "median", out=np.empty(g.shape[1], other))
    with pytest.raises(ValueError, match="length d = 37"):
        ra.aggregate(g, "median", out=np.empty(36, dtype))
    with pytest.raises(ValueError, match="length d = 37"):
        ra.aggregate(g, "median", out=np.empty((1, 37), dtype))
    with pytest.raises(ValueError, match="contiguous"):
        ra.aggregate(g, "median", out=np.empty(74, dtype)[::2])
    ro = np.empty(37, dtype)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ra.aggregate(g, "median", out=ro)
    with pytest.raises(ValueError, match="overlaps"):
        ra.aggregate(g, "median", out=g[3])
    with pytest.raises(ValueError, match="overlaps"):
        rows = list(g)
        ra.aggregate(rows, "median", out=rows[5])
    fortran = np.asfortranarray(g)  # read in place: the caller's memory
    with pytest.raises(ValueError, match="overlaps"):
        ra.aggregate(fortran, "median", out=fortran.T.reshape(-1)[:37])
    wide = np.zeros((g.shape[0], 2 * g.shape[1]), dtype)
    with pytest.raises(ValueError, match="overlaps"):
        ra.aggregate([r[::2] for r in wide], "median", out=wide[4, :37])
    assert same_bits(ra.aggregate(g[:, ::2], "median", out=np.empty(19, dtype)),
                     ra.aggregate(np.ascontiguousarray(g[:, ::2]), "median"))
    with pytest.raises(TypeError, match="out"):
        ra.aggregate(g, "median", out=[0.0] * 37)


@pytest.mark.parametrize("spec", RULES + ["sign-vote", "noisy-median(b=1)", "multi-krum(f=2)"])
def test_inputs_are_never_modified(spec):
    g = grouped(np.float64)
    g[0, :3] = [np.nan, np.inf, -np.inf]
    before = g.copy()
    rows = list(g)
    try:
        ra.aggregate(g, spec)
        ra.aggregate(rows, spec)
    except ra.Error:
        pass
    assert same_bits(g, before)


def test_error_paths():
    g = grouped(np.float32)
    cases = [
        (g.astype(np.int32), TypeError, "float32 or float64.*got int32"),
        (g.astype(np.float16), TypeError, "got float16"),
        (g.astype(np.complex64), TypeError, "got complex64"),
        (g.astype(">f4"), TypeError, "native byte order"),
        (g[0], ValueError, "2-D.*got a 1-D array of shape \\(37,\\)"),
        (g[None], ValueError, "3-D"),
        (g.tolist(), TypeError, "gradients\\[0\\] must be a 1-D .*got list"),
        ([g[0], g[1][:5]], ValueError, "ragged"),
        ([g[0], g[1].astype(np.float64)], TypeError, "same dtype"),
        ([g[0], g[1:3]], ValueError, "gradients\\[1\\] must be 1-D"),
        ([], ValueError, "empty list"),
        ("grads", TypeError, "got str"),
        (None, TypeError, "got NoneType"),
        (3.0, TypeError, "got float"),
    ]
    for bad, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            ra.aggregate(bad, "median")
        assert "\n" not in msg
    for rule, msg in [(3, "got int"), (None, "got NoneType"), (np.mean, "got")]:
        with pytest.raises(TypeError, match="rule must be a spec string.*" + msg):
            ra.aggregate(g, rule)
    with pytest.raises(ra.Error, match="bulyan\\(f=4\\) needs n >= 4f\\+3 = 19 gradients, got 15"):
        ra.aggregate(g, "bulyan(f=4)")
    with pytest.raises(ra.Error, match="rule spec"):
        ra.aggregate(g, "median(")
    with pytest.raises(ra.Error):
        ra.aggregate(np.empty((0, 4), np.float32), "median")
    with pytest.raises(ra.Error):
        ra.Aggregator("krum(f=7)")(g)
    with pytest.raises(TypeError):
        ra.Aggregator(5)


def test_one_line_messages():
    g = grouped(np.float32)
    for bad in (g.astype(np.int8), g[0], [g[0], g[1][:2]], "x"):
        with pytest.raises((TypeError, ValueError)) as e:
            ra.aggregate(bad, "median")
        assert "\n" not in str(e.value)
