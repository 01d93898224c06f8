"""A stage's own output: robustagg.apply_stage against NumPy references written
from the definitions (docs/rules.md), Stage objects, errors."""
import pickle

import numpy as np
import pytest

import robustagg as ra
from conftest import same_bits


def ref_clip(x, c):
    n = np.linalg.norm(x, axis=1)
    return np.where((n > c)[:, None], x * (c / np.where(n > 0, n, 1))[:, None], x)


def ref_arc(x, f):
    n = len(x)
    k = 2 * f * (n - f) // n
    return x.copy() if k == 0 else ref_clip(x, np.sort(np.linalg.norm(x, axis=1))[n - k - 1])


def ref_nnm(x, f):
    n = len(x)
    D = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    out = np.empty_like(x)
    for i in range(n):
        others = sorted((j for j in range(n) if j != i), key=lambda j: (D[i, j], j))
        out[i] = x[[i] + others[: n - f - 1]].mean(0)
    return out


def ref_bucketing(x, s, seed=0):
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_stage_against_its_definition(dtype):
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(9, 50)) * rng.uniform(0.5, 3, size=(9, 1))).astype(dtype)
    xd = x.astype(np.float64)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    c = float(np.median(np.linalg.norm(xd, axis=1)))
    for spec, want in [(f"clip(c={c!r})", ref_clip(xd, c)), ("nnm(f=2)", ref_nnm(xd, 2)),
                       ("arc(f=2)", ref_arc(xd, 2)), ("bucketing(s=2, seed=4)", ref_bucketing(xd, 2, 4)),
                       ("bucketing(s=3)", ref_bucketing(xd, 3))]:
        for form in (x, list(x), x[::1, :]):
            got = ra.apply_stage(form, spec)
            assert got.dtype == dtype and got.shape == want.shape, spec
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=spec)
        assert same_bits(ra.apply_stage(x, ra.Stage(spec)), ra.apply_stage(x, spec))
    # a rule after a stage gets exactly the stage's output
    assert same_bits(ra.aggregate(ra.apply_stage(x, "nnm(f=2)"), "trimmed-mean(f=2)"),
                     ra.aggregate(x, "nnm(f=2, then=trimmed-mean(f=2))"))
    # never modified, and strided inputs give the same bits
    before = x.copy()
    wide = np.zeros((18, 60), dtype)
    wide[::2, 5:55] = x
    assert same_bits(ra.apply_stage(wide[::2, 5:55], "arc(f=2)"), ra.apply_stage(x, "arc(f=2)"))
    assert same_bits(x, before)


def test_stage_objects():
    st = ra.parse_stage("bucketing(seed=3, s=2)")
    assert isinstance(st, ra.Stage) and st.spec == "bucketing(s=2, seed=3)" and str(st) == st.spec
    assert repr(st) == "Stage('bucketing(s=2, seed=3)')"
    assert st.rows_out(7) == 4 and ra.Stage("nnm(f=1)").rows_out(7) == 7
    assert st == ra.Stage("bucketing(s=2, seed=3)") and hash(st) == hash(ra.Stage(st.spec))
    assert pickle.loads(pickle.dumps(st)) == st
    with pytest.raises(ra.Error, match=r"nnm\(f=3\) needs n >= 2f\+1 = 7 gradients, got 5"):
        ra.Stage("nnm(f=3)").validate(5, 2)


def test_errors():
    x = np.ones((5, 3))
    with pytest.raises(ra.Error, match=r"'krum' is a rule, not a stage \(stages: clip, nnm, arc, bucketing\)"):
        ra.apply_stage(x, "krum(f=1)")
    with pytest.raises(ra.Error, match="without then="):
        ra.apply_stage(x, "nnm(f=1, then=median)")
    with pytest.raises(ra.Error, match=r"nnm\(f=3\) needs n >= 2f\+1 = 7 gradients, got 5"):
        ra.apply_stage(x, "nnm(f=3)")
    with pytest.raises(TypeError, match="stage must be a spec string"):
        ra.apply_stage(x, 3)
    with pytest.raises(TypeError, match=r"stage is the class robustagg.Stage, not a stage object"):
        ra.apply_stage(x, ra.Stage)
    with pytest.raises(ValueError, match="2-D"):
        ra.apply_stage(x[0], "clip(c=1)")
    with pytest.raises(TypeError, match="float32 or float64"):
        ra.apply_stage(x.astype(np.int32), "clip(c=1)")


def test_tensors():
    torch = pytest.importorskip("torch")
    t = torch.randn(7, 20, dtype=torch.float64)
    out = ra.apply_stage(t, "nnm(f=1)")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.shape == (7, 20)
    assert same_bits(out.numpy(), ra.apply_stage(t.numpy(), "nnm(f=1)"))
    assert ra.apply_stage(list(t.float()), "bucketing(s=2)").shape == (4, 20)
