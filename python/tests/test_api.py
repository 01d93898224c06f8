"""The package's API: catalogue, generated rule classes, specs, Aggregator,
threads setting, version, attacks, errors from rule construction."""
import inspect
import pickle
import re

import numpy as np
import pytest

import robustagg as ra
from conftest import CLI, grouped, same_bits


def test_version_matches_the_header():
    header = open(__file__.rsplit("/python/", 1)[0] + "/include/robustagg/version.hpp").read()
    parts = [re.search(rf"#define ROBUSTAGG_VERSION_{p} (\d+)", header).group(1)
             for p in ("MAJOR", "MINOR", "PATCH")]
    assert ra.__version__ == ".".join(parts)


def test_catalogue_and_classes():
    infos = ra.rules()
    names = [r.name for r in infos]
    for n in ("mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan", "sign-vote",
              "noisy-median", "noisy-sign-vote", "detox"):
        assert n in names
    for r in infos:
        cls = getattr(ra, r.cls.__name__)
        assert cls is r.cls and issubclass(cls, ra.Rule)
        assert cls.__name__ == "".join(p.capitalize() for p in re.split("[-_]", r.name))
        assert r.summary[1:] in cls.__doc__ and r.requirement in cls.__doc__
    assert "f" in ra.rules_text() and "requires n >= 4f+3" in ra.rules_text()


def test_catalogue_is_what_the_cli_lists():
    if not CLI:
        pytest.skip("CLI not built")
    import subprocess
    out = subprocess.run([CLI, "rules"], capture_output=True, text=True, check=True).stdout
    assert ra.rules_text() in out


def test_rule_objects_and_specs():
    assert repr(ra.Mean()) == "mean" == ra.Mean().spec
    assert ra.Krum(2).spec == "krum(f=2)"
    assert ra.MultiKrum(2).spec == "multi-krum(f=2, m=0)"
    assert ra.MultiKrum(2, m=8).spec == ra.MultiKrum(f=2, m=8).spec == "multi-krum(f=2, m=8)"
    assert ra.TrimmedMean(3).spec == "trimmed-mean(f=3)"
    assert ra.Bulyan(2).spec == "bulyan(f=2)"
    assert ra.SignVote().spec == "sign-vote"
    assert ra.NoisyMedian(0.5).spec == "noisy-median(b=0.5, seed=0)"
    assert ra.NoisySignVote(2, seed=9).spec == "noisy-sign-vote(b=2, seed=9)"
    d = ra.Detox(3, inner=ra.Krum(0), outer="multi-krum(f=1)")
    assert d.spec == ra.parse_rule(d.spec).spec
    assert "inner=krum(f=0)" in d.spec and "outer=multi-krum(f=1, m=0)" in d.spec
    assert ra.Detox(3, seed=5).spec == ra.parse_rule("detox(r=3, seed=5)").spec
    assert repr(d) == d.spec and str(d) == d.spec
    sig = inspect.signature(ra.MultiKrum)
    assert list(sig.parameters) == ["f", "m"] and sig.parameters["m"].default == 0
    assert list(inspect.signature(ra.Detox).parameters)[:4] == ["r", "buckets", "inner", "outer"]
    assert ra.Krum(2) == ra.parse_rule("krum( f = 2 )") and ra.Krum(2) != ra.Krum(3)
    assert hash(ra.Krum(2)) == hash(ra.parse_rule("krum(f=2)"))
    assert isinstance(ra.parse_rule("bulyan(f=1)"), ra.Bulyan)
    assert pickle.loads(pickle.dumps(ra.Bulyan(1))) == ra.Bulyan(1)
    assert ra.Krum(np.int64(2)).spec == "krum(f=2)"
    assert ra.Bulyan(2).min_rows() == 11


def test_rule_construction_errors():
    with pytest.raises(TypeError, match="robustagg.Krum"):
        ra.Krum()
    with pytest.raises(TypeError, match="robustagg.Krum"):
        ra.Krum(1, 2)
    with pytest.raises(TypeError, match="bool"):
        ra.Krum(True)
    with pytest.raises(TypeError, match="list"):
        ra.Krum([1])
    with pytest.raises(ra.Error, match="non-negative integer"):
        ra.Krum(-1)
    with pytest.raises(ra.Error, match="non-negative integer"):
        ra.Krum(1.5)
    with pytest.raises(ra.Error, match="unknown rule 'nope'"):
        ra.Detox(3, inner="nope")
    with pytest.raises(ra.Error, match="unknown rule"):
        ra.parse_rule("krumm(f=1)")
    with pytest.raises(ra.Error, match="has no parameter 'g'"):
        ra.parse_rule("krum(g=1)")
    with pytest.raises(TypeError, match="str"):
        ra.parse_rule(3)
    with pytest.raises(ra.Error):
        ra.NoisyMedian(-1.0)
    assert issubclass(ra.Error, ValueError)


def test_unset_f_is_an_error():
    with pytest.raises(ra.Error, match="krum"):
        ra.aggregate(grouped(np.float32), "krum")


def test_aggregator_report_and_steady_state():
    g = grouped(np.float64)
    a = ra.Aggregator("detox(r=3, outer=median)")
    assert a.report == []
    r1 = a(g)
    assert same_bits(r1, ra.aggregate(g, "detox(r=3, outer=median)"))
    assert a.report and all(isinstance(s, str) and isinstance(t, str) for s, t in a.report)
    assert a.report[0][0].startswith("vote")
    size = a.workspace_bytes
    out = np.empty(g.shape[1])
    for _ in range(3):
        assert a(g, out=out) is out
    assert a.workspace_bytes == size and same_bits(out, r1)
    m = ra.Aggregator(ra.Median())
    m(g)
    assert m.report == [] and repr(m) == "Aggregator('median')"


def test_help_explains_aggregate():
    doc = ra.aggregate.__doc__
    for word in ("gradients", "rule", "out", "robustagg.Error", "GIL", "copied"):
        assert word in doc


def test_threads_setting():
    old = ra.num_threads()
    try:
        ra.set_num_threads(1)
        assert ra.num_threads() == 1
        ra.set_num_threads(1000)
        assert ra.num_threads() == 64
        ra.set_num_threads(0)
        assert ra.num_threads() >= 1
        g = np.random.default_rng(0).normal(size=(15, 300000)).astype(np.float32)
        ra.set_num_threads(1)
        one = ra.aggregate(g, "median")
        ra.set_num_threads(2)
        assert same_bits(one, ra.aggregate(g, "median"))
    finally:
        ra.set_num_threads(0)
        assert ra.num_threads() == old


def test_attacks():
    assert {"none", "alie", "ipm", "reverse", "constant", "gaussian", "nan", "inf"} <= set(
        ra.attacks.known())
    g = np.random.default_rng(3).normal(size=(10, 6))
    before = g.copy()
    a = ra.attacks.apply("constant(c=-5)", g, [0, 2])
    assert same_bits(g, before)
    assert (a[[0, 2]] == -5).all() and same_bits(a[1], g[1]) and a.dtype == g.dtype
    honest = np.delete(g, [0, 1], axis=0)
    z = ra.attacks.alie_z(10, 2)
    alie = ra.attacks.apply("alie", g, [0, 1])
    np.testing.assert_allclose(alie[0], honest.mean(0) - z * honest.std(0, ddof=1), rtol=1e-12)
    ipm = ra.attacks.apply(ra.attacks.parse("ipm(eps=0.5)"), g.astype(np.float32), [9])
    assert ipm.dtype == np.float32
    np.testing.assert_allclose(ipm[9], -0.5 * g[:9].mean(0), rtol=1e-5)
    assert np.isnan(ra.attacks.apply("nan", g, [3])[3]).all()
    g1 = ra.attacks.apply("gaussian(sigma=2, seed=1)", g, [4], step=0)
    g2 = ra.attacks.apply("gaussian(sigma=2, seed=1)", g, [4], step=1)
    assert not same_bits(g1[4], g2[4])
    assert ra.attacks.parse("reverse").spec == "reverse(c=100)"
    with pytest.raises(ra.Error, match="unknown attack"):
        ra.attacks.apply("nope", g, [0])
    with pytest.raises(ra.Error, match="out of range"):
        ra.attacks.apply("nan", g, [10])
    with pytest.raises(ra.Error, match="twice"):
        ra.attacks.apply("nan", g, [1, 1])
    with pytest.raises(TypeError):
        ra.attacks.apply("nan", g, [1.0])
    with pytest.raises(TypeError):
        ra.attacks.apply(3, g, [1])
    with pytest.raises(ValueError, match="2-D"):
        ra.attacks.apply("nan", g[0], [1])


def test_readme_example_runs(capsys):
    readme = open(__file__.rsplit("/python/", 1)[0] + "/README.md").read()
    section = readme.split("\n## Python\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 6
    env = {}
    exec(compile(code, "README.md", "exec"), env)
    out = capsys.readouterr().out
    assert "multi-krum(f=2, m=8)" in out and "'cge'" in out and out.rstrip().endswith("alie")
    assert env["mixed"].shape == (15, 1000)


def test_simd_arch_forced_gives_the_same_bits():
    """Every SIMD architecture the machine runs gives bitwise the same result."""
    archs = ra.simd_archs()
    assert archs and ra.simd_arch() == archs[0]
    rng = np.random.default_rng(5)
    g = rng.standard_normal((15, 1003)).astype(np.float32)
    results = []
    try:
        for a in archs:
            ra.set_simd_arch(a)
            assert ra.simd_arch() == a
            results.append(ra.aggregate(g, "bulyan(f=2)"))
    finally:
        ra.set_simd_arch("auto")
    for r in results[1:]:
        assert r.tobytes() == results[0].tobytes()
    with pytest.raises(ra.Error, match="not an architecture"):
        ra.set_simd_arch("avx9000")


def _centered_clipping(x, v, tau, iterations):
    """The definition (docs/rules.md), in float64 NumPy: v <- v + mean_i c_i (x_i - v),
    c_i = min(1, tau / ||x_i - v||)."""
    for _ in range(iterations):
        diff = x - v
        norm = np.linalg.norm(diff, axis=1)
        c = np.where(norm > 0, np.minimum(1.0, tau / np.where(norm > 0, norm, 1.0)), 1.0)
        v = v + (c[:, None] * diff).sum(axis=0) / x.shape[0]
    return v


def test_aggregator_warm_start_starts_from_the_previous_output():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(9, 40)) + 5.0
    spec = "centered-clipping(tau=1, iterations=5, warm-start=1)"
    agg = ra.Aggregator(spec)
    first = agg(x)
    # The first call starts from the coordinate-wise median.
    np.testing.assert_allclose(first, _centered_clipping(x, np.median(x, axis=0), 1.0, 5),
                               rtol=1e-12, atol=1e-12)
    second = agg(x)
    # The second starts from the first output, so it is 5 more iterations of it.
    np.testing.assert_allclose(second, _centered_clipping(x, first, 1.0, 5), rtol=1e-12, atol=1e-12)
    assert not np.array_equal(second, first)
    # robustagg.aggregate keeps no state: every call starts from the median.
    assert same_bits(ra.aggregate(x, spec), first)
    assert same_bits(ra.aggregate(x, spec), first)


def test_aggregate_reuses_a_cached_workspace_across_shapes_and_threads():
    # robustagg.aggregate runs in a workspace cached per calling thread: results
    # equal a fresh Aggregator's for every call, while shapes grow and shrink
    # and while several threads call at once.
    import threading
    rng = np.random.default_rng(7)
    specs = ["median", "clip(c=1, then=mean)", "nnm(f=2, then=krum(f=2))",
             "geometric-median(iterations=3)", "cge(f=2)"]
    shapes = [(15, 3000), (9, 20001), (15, 3000), (21, 17)]
    inputs = [rng.normal(size=s).astype(np.float32) for s in shapes]
    want = {(i, s): ra.Aggregator(s)(g) for i, g in enumerate(inputs) for s in specs}
    for _ in range(2):
        for i, g in enumerate(inputs):
            for s in specs:
                assert same_bits(ra.aggregate(g, s), want[(i, s)]), (i, s)
    failures = []

    def worker():
        for i, g in enumerate(inputs):
            for s in specs:
                if not same_bits(ra.aggregate(g, s), want[(i, s)]):
                    failures.append((i, s))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # The limit and the release are the C++ settings; 0 turns the cache off.
    limit = ra.cached_workspace_limit()
    assert limit == 1 << 30
    try:
        ra.set_cached_workspace_limit(0)
        assert ra.cached_workspace_limit() == 0
        assert same_bits(ra.aggregate(inputs[0], specs[1]), want[(0, specs[1])])
    finally:
        ra.set_cached_workspace_limit(limit)
    ra.release_cached_workspace()
