"""CGE and centered clipping's start (spec option and start vector), against
NumPy references written from the definitions (docs/rules.md); a rule class
passed where a rule object is expected; no test hooks in the public module."""
import numpy as np
import pytest

import robustagg as ra
from conftest import same_bits


def ref_cge(x, f):
    finite = np.isfinite(x).all(axis=1)
    sq = np.where(finite, (x.astype(np.float64) ** 2).sum(axis=1), np.inf)
    order = sorted(range(len(x)), key=lambda i: (not finite[i], sq[i] if finite[i] else 0.0, i))
    keep = sorted(order[: len(x) - f])
    return x[keep].astype(np.float64).mean(axis=0)


def ref_cc(x, v, tau, iterations):
    """v <- v + (1/n) sum_i c_i (x_i - v), c_i = min(1, tau / |x_i - v|) (1 at distance 0)."""
    x = x.astype(np.float64)
    for _ in range(iterations):
        diff = x - v
        norm = np.linalg.norm(diff, axis=1)
        c = np.where(norm > 0, np.minimum(1.0, tau / np.where(norm > 0, norm, 1.0)), 1.0)
        v = v + (c[:, None] * diff).sum(axis=0) / len(x)
    return v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cge(dtype):
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(11, 30)) * rng.uniform(0.2, 5, size=(11, 1))).astype(dtype)
    for f in (0, 1, 5):
        got = ra.aggregate(x, ra.Cge(f))
        np.testing.assert_allclose(got, ref_cge(x, f), rtol=1e-6 if dtype == np.float32 else 1e-13)
    x[3, 7] = np.nan
    x[8] = np.inf
    got = ra.aggregate(x, "cge(f=2)")
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref_cge(x, 2), rtol=1e-6 if dtype == np.float32 else 1e-13)
    assert ra.Cge(2).spec == "cge(f=2)" and ra.Cge(2).min_rows() == 5
    with pytest.raises(ra.Error, match=r"cge\(f=6\) needs n >= 2f\+1 = 13 gradients, got 11"):
        ra.aggregate(x, ra.Cge(6))


def test_centered_clipping_start_option():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(9, 40)) + 3.0
    cc = ra.CenteredClipping(1.0, iterations=4, start="mean")
    assert cc.spec == "centered-clipping(tau=1, iterations=4, start=mean)"
    np.testing.assert_allclose(ra.aggregate(x, cc), ref_cc(x, x.mean(0), 1.0, 4), rtol=1e-12)
    zero = ra.aggregate(x, "centered-clipping(tau=1, iterations=4, start=zero)")
    np.testing.assert_allclose(zero, ref_cc(x, np.zeros(40), 1.0, 4), rtol=1e-12)
    med = ra.aggregate(x, ra.CenteredClipping(1.0, iterations=4))
    np.testing.assert_allclose(med, ref_cc(x, np.median(x, axis=0), 1.0, 4), rtol=1e-12)
    assert ra.CenteredClipping(1.0, start="median").spec == ra.CenteredClipping(1.0).spec
    with pytest.raises(ra.Error, match="start must be one of median, mean, zero, got 'middle'"):
        ra.CenteredClipping(1.0, start="middle")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_centered_clipping_start_vector(dtype):
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(9, 40)) + 3.0).astype(dtype)
    v0 = (rng.normal(size=40)).astype(dtype)
    rule = ra.CenteredClipping(1.0, iterations=3)
    got = ra.aggregate(x, rule, start=v0)
    np.testing.assert_allclose(got, ref_cc(x, v0.astype(np.float64), 1.0, 3),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)
    agg = ra.Aggregator(rule)
    out = np.empty(40, dtype)
    assert agg(x, out=out, start=v0) is out and same_bits(out, got)
    assert same_bits(ra.aggregate(list(x), "centered-clipping(tau=1, iterations=3)", start=v0[::1]), got)
    with pytest.raises(TypeError, match=r"start= is the start vector of centered-clipping; the rule krum\(f=1\) takes none"):
        ra.aggregate(x, "krum(f=1)", start=v0)
    with pytest.raises(ValueError, match="start= and warm-start=1 both choose the start"):
        ra.aggregate(x, "centered-clipping(tau=1, warm-start=1)", start=v0)
    with pytest.raises(ValueError, match="start must be 1-D of length d = 40, got shape"):
        ra.aggregate(x, rule, start=v0[:10])
    with pytest.raises(TypeError, match="start needs the gradients' dtype"):
        ra.aggregate(x, rule, start=v0.astype(np.float64 if dtype == np.float32 else np.float32))
    bad = v0.copy()
    bad[0] = np.nan
    with pytest.raises(ra.Error, match="the start vector holds a non-finite value"):
        ra.aggregate(x, rule, start=bad)


def test_rule_class_instead_of_object():
    x = np.ones((7, 3))
    with pytest.raises(TypeError, match=r"rule is the class robustagg.Krum, not a rule object; "
                                        r"create one, e.g. robustagg.Krum\(f\)"):
        ra.aggregate(x, ra.Krum)
    with pytest.raises(TypeError, match="rule is the class robustagg.MultiKrum"):
        ra.Aggregator(ra.MultiKrum)
    with pytest.raises(TypeError, match="outer is the class robustagg.Median"):
        ra.Detox(3, outer=ra.Median)
    with pytest.raises(TypeError, match="rule is the class robustagg.Rule"):
        ra.aggregate(x, ra.Rule)


def test_no_test_hooks_in_the_public_module():
    for name in ("_time_cpp", "_copy_count", "time_cpp", "copy_count"):
        assert not hasattr(ra._robustagg, name)
        assert not hasattr(ra, name)
