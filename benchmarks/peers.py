#!/usr/bin/python3
"""Peer baselines.

Default mode (and --sweep): numpy.median(axis=0), torch.median(dim=0) and
torch.cdist on the shapes of the C++ benchmarks, float32, n x d with one row
per worker. Prints one line per measurement and writes JSON (list of records
with name, n, d, seconds = median over repetitions, threads) to --out.
scripts/bench.sh and scripts/bench_sweep.sh use this mode.

--table: robustagg side by side with its peers ByzFL (LPD-EPFL/byzfl) and
ByzPy (Byzpy/byzpy) on ByzPy's own benchmark workloads (ByzPy's
benchmarks/README.md: the shapes and parameters of its "direct" and "ByzFL"
columns). For each workload: ByzFL's and ByzPy's aggregator called directly
(no actor pool), robustagg.aggregate(x, spec) (a fresh output per call), the
best peer's time over robustagg's, a reused robustagg.Aggregator(spec) with
out=, and one read pass of the input (a reused robustagg.Aggregator("mean")
with out=, at the same threads) so that memory-bound rules can be judged.
Times are the median of --reps calls, the contenders interleaved round-robin
(the starting contender rotates each round) so that load drift on a shared
machine hits all of them alike. Before timing, each peer's result is compared
with robustagg's (relative difference in norm, --rtol) and the table's notes
say where and why they differ (definitions differ, e.g. centered clipping's
start or the even-n median). Prints a Markdown table, and JSON to --out.

The peers are never a dependency: they are imported only if importable (put
their checkouts on PYTHONPATH or pass --peer-path), and a peer that is not is
skipped with the reason. Two shims, printed when used and disabled by
--no-peer-shims: ByzFL's package __init__ also loads its federated framework
(torchvision), so its aggregators are imported without that __init__; ByzPy's
aggregators import its actor-pool module, which imports cloudpickle, so a
placeholder module stands in for cloudpickle (no direct call uses it).

Needs Debian's python3-numpy and python3-torch (/usr/bin/python3), and for
--table the robustagg module (PYTHONPATH=<build>/python).
"""
import argparse
import importlib
import importlib.util
import json
import math
import os
import signal
import statistics
import sys
import time
import types
import zlib

import numpy as np


def median_time(fn, reps, budget):
    times = []
    start = time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget and len(times) >= 1:
            break
    times.sort()
    return times[len(times) // 2], len(times)


def grid(args):
    """The original mode: numpy/torch medians (and torch.cdist) on a grid or the sweep's shapes."""
    try:
        import torch
        torch_threads = torch.get_num_threads()
    except ImportError:  # numpy alone still runs
        torch = None
        torch_threads = 0
    reps = args.reps if args.reps is not None else 5
    budget = args.budget if args.budget is not None else 20.0
    rows = [int(x) for x in args.rows.split(",")]
    dims = [int(x) for x in args.dims.split(",")]
    records = []
    rng = np.random.default_rng(1)
    shapes = ([(args.sweep // n, n) for n in rows] if args.sweep
              else [(d, n) for d in dims for n in rows])
    for d, n in shapes:
        g = rng.uniform(-1.0, 1.0, size=(n, d)).astype(np.float32)
        cases = [("numpy.median(axis=0)", lambda: np.median(g, axis=0), 1)]
        if torch is not None:
            t = torch.from_numpy(g)
            cases.append(("torch.median(dim=0)", lambda: torch.median(t, dim=0), torch_threads))
            if not args.sweep:
                cases.append(("torch.cdist", lambda: torch.cdist(t, t), torch_threads))
        for name, fn, threads in cases:
            fn()  # warm-up
            sec, nreps = median_time(fn, reps, budget)
            rec = {"name": name, "n": n, "d": d, "seconds": sec, "reps": nreps, "threads": threads}
            records.append(rec)
            print(f"{name:24s} n={n:4d} d={d:9d} {sec * 1e3:10.2f} ms  ({nreps} reps, {threads} threads)",
                  flush=True)
        del g
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"torch": (torch.__version__ if torch else None), "numpy": np.__version__,
                       "records": records}, fh, indent=1)
    return 0


# ---- --table: robustagg, ByzFL and ByzPy on ByzPy's workloads ----------------

# The shims (see the module docstring): a top-level module that a peer's package
# imports although its aggregators do not use it -> what is done instead.
FRAMEWORK_ONLY = {
    "byzfl": {"torchvision": "byzfl/__init__.py imports byzfl.fed_framework and byzfl.benchmark "
                             "(datasets, training), not needed by byzfl.aggregators"},
    "byzpy": {"cloudpickle": "byzpy.aggregators.base imports byzpy.engine.graph.operator, which "
                             "imports the actor pool (byzpy/engine/graph/pool.py: cloudpickle); "
                             "the direct aggregate()/pre_aggregate() calls never use it"},
}


def _purge(pkg):
    for k in list(sys.modules):
        if k == pkg or k.startswith(pkg + "."):
            del sys.modules[k]


def _placeholder(name, why):
    mod = types.ModuleType(name)
    mod.__file__ = None

    def __getattr__(attr):  # PEP 562: any use of the placeholder fails loudly
        raise ImportError(f"{name} is a placeholder installed by benchmarks/peers.py ({why}); "
                          f"{name}.{attr} is not available")
    mod.__getattr__ = __getattr__
    mod.__robustagg_placeholder__ = True
    return mod


def load_peer(name, shims):
    """(namespace of the peer's modules or None, list of notes / the skip reason)."""
    notes = []
    try:
        import torch  # noqa: F401  (both peers are torch code)
    except ImportError as e:
        return None, [f"skipped: needs torch ({e})"]
    if importlib.util.find_spec(name) is None:
        return None, [f"skipped: no module named {name!r} (put its checkout on PYTHONPATH or pass "
                      f"--peer-path)"]
    if name == "byzfl":
        mods = ["byzfl.aggregators.aggregators", "byzfl.aggregators.preaggregators"]
    else:
        mods = ["byzpy.aggregators.coordinate_wise", "byzpy.aggregators.geometric_wise",
                "byzpy.aggregators.norm_wise", "byzpy.pre_aggregators"]
    for attempt in range(3):
        try:
            loaded = [importlib.import_module(m) for m in mods]
            break
        except ImportError as e:
            _purge(name)
            missing = (getattr(e, "name", None) or "").split(".")[0]
            why = FRAMEWORK_ONLY[name].get(missing)
            if not shims or why is None or attempt == 2:
                return None, [f"skipped: importing {name}'s aggregators failed: {type(e).__name__}: {e}"]
            if name == "byzfl":
                # Import byzfl.aggregators without running byzfl/__init__.py.
                spec = importlib.util.find_spec("byzfl")
                bare = types.ModuleType("byzfl")
                bare.__path__ = list(spec.submodule_search_locations)
                bare.__file__ = spec.origin
                sys.modules["byzfl"] = bare
                notes.append(f"`import byzfl` fails here (no module named {missing!r}: {why}); "
                             f"byzfl.aggregators was imported without the package's __init__")
            else:
                sys.modules[missing] = _placeholder(missing, why)
                notes.append(f"no module named {missing!r} here ({why}): a placeholder "
                             f"{missing!r} module (raising on use) stands in for it")
        except Exception as e:  # a peer that does not import at all: skip it, do not crash
            _purge(name)
            return None, [f"skipped: importing {name}'s aggregators failed: {type(e).__name__}: {e}"]
    ns = types.SimpleNamespace(name=name, mods=loaded)
    if name == "byzfl":
        ns.agg, ns.pre = loaded
    else:
        ns.cw, ns.gw, ns.nw, ns.pre = loaded
    top = sys.modules[name]
    ns.where = os.path.dirname(os.path.dirname(loaded[0].__file__))
    ns.version = getattr(top, "__version__", None)
    return ns, notes


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


class time_limit:
    """Raises Timeout in the main thread after `seconds` (checked between Python
    bytecodes, so a long C call ends first)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        if self.seconds and self.seconds > 0:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        if self.seconds and self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return False


class Contender:
    """One column of one workload: prep() (untimed, e.g. a fresh copy for a peer
    that writes its input) then fn(prep()) (timed)."""

    def __init__(self, column, what, fn, prep=None, check_spec=None, definition=None):
        self.column, self.what, self.fn = column, what, fn
        self.prep = prep or (lambda: None)
        self.check_spec = check_spec      # robustagg spec whose definition matches this peer's
        self.definition = definition      # known definition difference, said when results differ
        self.status = "pending"           # ok | refused | failed | timeout | skipped | absent
        self.message = ""
        self.times = []
        self.spent = 0.0
        self.result = None
        self.check = None

    def call(self, timeout):
        arg = self.prep()
        with time_limit(timeout):
            t0 = time.perf_counter()
            out = self.fn(arg)
            t1 = time.perf_counter()
        return out, t1 - t0


def peer_files(peer, what):
    """The files defining the classes named in a peer call's description
    ("aggregators.MoNNA(f=8, idx=0)"), relative to the peer's checkout."""
    import re
    short = {"aggregators": "agg", "preaggregators": "pre", "coordinate_wise": "cw",
             "geometric_wise": "gw", "norm_wise": "nw", "pre_aggregators": "pre"}
    files = []
    root = os.path.dirname(sys.modules[peer.name].__path__[0])
    if os.path.basename(root) == "python":  # ByzPy's package lives in python/ of its checkout
        root = os.path.dirname(root)
    for mod, cls in re.findall(r"\b(\w+)\.([A-Z]\w*)\b", what):
        ns = getattr(peer, short.get(mod, ""), None)
        obj = getattr(ns, cls, None) if ns is not None else None
        if obj is None:
            files.append(f"?{mod}.{cls}")
            continue
        f = sys.modules[obj.__module__].__file__
        files.append(f"{os.path.relpath(f, root)}:{cls}")
    return files


def _first_line(e):
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


def _as_np(v):
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64).reshape(-1)


def rel_diff(a, b):
    a, b = _as_np(a), _as_np(b)
    if a.shape != b.shape:
        return float("inf")
    nb = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / (nb if nb > 0 else 1.0)


def build_workloads(quick):
    """The workloads: ByzPy's benchmarks/README.md table (its shapes and
    parameters), each with robustagg's spec and the peers' calls. A peer entry
    is None when the peer has no such rule, or a function (peer, x, xt, rows)
    -> Contender arguments."""
    import torch

    def stack_mean(outs):  # ByzPy's pre-aggregators return a list of tensors
        return torch.stack(list(outs)).mean(0)

    W = []

    def add(key, label, n, d, spec, byzfl, byzpy, note=""):
        W.append(dict(key=key, label=label, n=n, d=d, spec=spec, byzfl=byzfl, byzpy=byzpy, note=note))

    # ByzFL: the classes in byzfl/aggregators/{aggregators,preaggregators}.py,
    # called on the n x d float32 torch tensor (their torch path, as ByzPy's
    # benchmarks/byzfl/*_compare.py call them). ByzPy: the classes in
    # python/byzpy/aggregators/{coordinate_wise,geometric_wise,norm_wise} and
    # python/byzpy/pre_aggregators, .aggregate()/.pre_aggregate() on a list of
    # n 1-D tensors (its interface; it stacks them itself).
    def fl_clip(p, x, xt, rows):
        clip, avg = p.pre.Clipping(c=2.0), p.agg.Average()
        return dict(what="preaggregators.Clipping(c=2.0) -> aggregators.Average (in place: a copy per call, untimed)",
                    fn=lambda v: avg(clip(v)), prep=lambda: xt.clone())

    def py_clip(p, x, xt, rows):
        clip = p.pre.Clipping(threshold=2.0)
        return dict(what="pre_aggregators.Clipping(threshold=2.0).pre_aggregate -> torch.stack(...).mean(0)",
                    fn=lambda _: stack_mean(clip.pre_aggregate(rows)))
    add("clip", "clipping c=2, then mean", 256, 65536, "clip(c=2, then=mean)", fl_clip, py_clip)

    def fl_monna(p, x, xt, rows):
        a = p.agg.MoNNA(f=8, idx=0)
        return dict(what="aggregators.MoNNA(f=8, idx=0)", fn=lambda _: a(xt))

    def py_monna(p, x, xt, rows):
        a = p.gw.MoNNA(8, reference_index=0)
        return dict(what="geometric_wise.MoNNA(8, reference_index=0)", fn=lambda _: a.aggregate(rows))
    add("monna", "MoNNA f=8", 64, 65536, "monna(f=8, trusted=0)", fl_monna, py_monna)

    def py_gm_tol(p, x, xt, rows):
        a = p.gw.GeometricMedian(tol=1e-6, max_iter=128)
        return dict(what="geometric_wise.GeometricMedian(tol=1e-6, max_iter=128) (ByzPy's benchmark settings; "
                         "init=median: torch.median, the lower middle value)",
                    fn=lambda _: a.aggregate(rows),
                    definition="ByzPy stops when ||z_t+1 - z_t|| <= 1e-6 (absolute), robustagg when <= "
                               "1e-7 * max(1, ||z_t||), at most 64 steps; ByzPy starts from the lower "
                               "middle value, robustagg from the median (mean of the two middle values)")
    add("gm_tol", "geometric median, to tolerance", 64, 65536, "geometric-median", None, py_gm_tol,
        note="ByzFL has no tolerance (a fixed T steps): see the 3-step row")

    def fl_gm3(p, x, xt, rows):
        a = p.agg.GeometricMedian(nu=0.1, T=3)
        return dict(what="aggregators.GeometricMedian(nu=0.1, T=3) (its defaults)", fn=lambda _: a(xt),
                    definition="ByzFL starts from the zero vector, robustagg from the coordinate-wise "
                               "median (after 3 steps the two have not converged to the same point)")

    def py_gm3(p, x, xt, rows):
        a = p.gw.GeometricMedian(tol=1e-30, max_iter=3)
        return dict(what="geometric_wise.GeometricMedian(tol=1e-30, max_iter=3)", fn=lambda _: a.aggregate(rows),
                    definition="ByzPy starts from torch.median (the lower middle value of the 64), "
                               "robustagg from the median (the mean of the two middle values)")
    add("gm3", "geometric median, 3 steps", 64, 65536, "geometric-median(iterations=3, tolerance=0)",
        fl_gm3, py_gm3)

    cc_spec = "centered-clipping(tau=0.1, iterations=10, start=mean)"

    def fl_cc(p, x, xt, rows):
        # ByzFL's CenteredClipping keeps its last output as the next call's start:
        # a new object per call (untimed) so that every call starts from zero.
        return dict(what="aggregators.CenteredClipping(tau=0.1, L=10), a new object per call (it starts "
                         "from zero, then from its last output)",
                    fn=lambda a: a(xt), prep=lambda: p.agg.CenteredClipping(tau=0.1, L=10),
                    check_spec="centered-clipping(tau=0.1, iterations=10, start=zero)")

    def py_cc(p, x, xt, rows):
        a = p.nw.CenteredClipping(c_tau=0.1, M=10)
        return dict(what="norm_wise.CenteredClipping(c_tau=0.1, M=10) (init='mean', its default)",
                    fn=lambda _: a.aggregate(rows))
    add("cc", "centered clipping tau=0.1, 10 iterations", 64, 65536, cc_spec, fl_cc, py_cc,
        note="shape of ByzPy's README row (its script's default d is 131072); start=mean as ByzPy's default")

    def fl_smea(p, x, xt, rows):
        a = p.agg.SMEA(f=5)
        return dict(what="aggregators.SMEA(f=5)", fn=lambda _: a(xt),
                    definition="ByzFL's top eigenvalue per subset is one power-iteration step from an "
                               "unseeded random vector (approximate, differs run to run); robustagg's is exact")

    def py_smea(p, x, xt, rows):
        a = p.gw.SMEA(5)
        return dict(what="geometric_wise.SMEA(5)", fn=lambda _: a.aggregate(rows))
    add("smea", "SMEA f=5", 16, 4096, "smea(f=5)", fl_smea, py_smea)

    def fl_caf(p, x, xt, rows):
        a = p.agg.CAF(f=8)
        return dict(what="aggregators.CAF(f=8)", fn=lambda _: a(xt),
                    definition="ByzFL's eigenvector is one power-iteration step from an unseeded random "
                               "vector and its tau_max runs over all rows; robustagg's eigenpair is exact "
                               "and tau_max runs over the rows still weighted")

    def py_caf(p, x, xt, rows):
        a = p.nw.CAF(8)
        return dict(what="norm_wise.CAF(8) (power_iters=3, its default)", fn=lambda _: a.aggregate(rows),
                    definition="ByzPy's eigenvector is 3 power-iteration steps from a fixed random vector "
                               "and its tau_max runs over all rows; robustagg's eigenpair is exact and "
                               "tau_max runs over the rows still weighted")
    add("caf", "CAF f=8", 64, 65536, "caf(f=8)", fl_caf, py_caf)

    def fl_arc(p, x, xt, rows):
        arc, avg = p.pre.ARC(f=8), p.agg.Average()
        return dict(what="preaggregators.ARC(f=8) -> aggregators.Average (in place: a copy per call, untimed)",
                    fn=lambda v: avg(arc(v)), prep=lambda: xt.clone())

    def py_arc(p, x, xt, rows):
        arc = p.pre.ARC(8)
        return dict(what="pre_aggregators.ARC(8).pre_aggregate -> torch.stack(...).mean(0)",
                    fn=lambda _: stack_mean(arc.pre_aggregate(rows)))
    add("arc", "ARC f=8, then mean", 256, 65536, "arc(f=8, then=mean)", fl_arc, py_arc)

    def fl_nnm(p, x, xt, rows):
        nnm, avg = p.pre.NNM(f=32), p.agg.Average()
        return dict(what="preaggregators.NNM(f=32) -> aggregators.Average", fn=lambda _: avg(nnm(xt)))

    def py_nnm(p, x, xt, rows):
        nnm = p.pre.NearestNeighborMixing(32)
        return dict(what="pre_aggregators.NearestNeighborMixing(32).pre_aggregate -> torch.stack(...).mean(0)",
                    fn=lambda _: stack_mean(nnm.pre_aggregate(rows)))
    add("nnm", "NNM f=32, then mean", 196, 4096, "nnm(f=32, then=mean)", fl_nnm, py_nnm)

    def fl_median(p, x, xt, rows):
        a = p.agg.Median()
        return dict(what="aggregators.Median() (torch path: torch.quantile(q=0.5))", fn=lambda _: a(xt))

    def py_median(p, x, xt, rows):
        a = p.cw.CoordinateWiseMedian()
        return dict(what="coordinate_wise.CoordinateWiseMedian() (torch.median)", fn=lambda _: a.aggregate(rows),
                    definition="ByzPy's median is torch.median, the lower middle value for even n = 64; "
                               "robustagg's (and numpy's) is the mean of the two middle values")
    add("median", "median", 64, 65536, "median", fl_median, py_median)

    def fl_bucket(p, x, xt, rows):
        b, avg = p.pre.Bucketing(s=32), p.agg.Average()
        return dict(what="preaggregators.Bucketing(s=32) -> aggregators.Average", fn=lambda _: avg(b(xt)))

    def py_bucket(p, x, xt, rows):
        b = p.pre.Bucketing(32)
        return dict(what="pre_aggregators.Bucketing(32).pre_aggregate -> torch.stack(...).mean(0)",
                    fn=lambda _: stack_mean(b.pre_aggregate(rows)))
    add("bucketing", "bucketing s=32, then mean", 512, 16384, "bucketing(s=32, then=mean)", fl_bucket, py_bucket,
        note="s divides n: the mean of the bucket means is the mean whatever the permutation")

    mk_check = "multi-krum(f=19, m=60)"

    def fl_mk(p, x, xt, rows):
        a = p.agg.MultiKrum(f=20)
        return dict(what="aggregators.MultiKrum(f=20) (averages n - f = 60 rows)", fn=lambda _: a(xt),
                    check_spec=mk_check)

    def py_mk(p, x, xt, rows):
        a = p.gw.MultiKrum(20, 60)
        return dict(what="geometric_wise.MultiKrum(20, 60) (q = n - f = 60 like ByzFL and robustagg; "
                         "ByzPy's README ran q = 12)",
                    fn=lambda _: a.aggregate(rows), check_spec=mk_check)
    add("multikrum", "Multi-Krum f=20", 80, 65536, "multi-krum(f=20)", fl_mk, py_mk,
        note="the peers score with n - f - 1 = 59 neighbours, robustagg with n - f - 2 = 58 (the paper's); "
             f"their results are checked against robustagg {mk_check}, which scores with 59")

    def fl_tm(p, x, xt, rows):
        a = p.agg.TrMean(f=8)
        return dict(what="aggregators.TrMean(f=8)", fn=lambda _: a(xt))

    def py_tm(p, x, xt, rows):
        a = p.cw.CoordinateWiseTrimmedMean(8)
        return dict(what="coordinate_wise.CoordinateWiseTrimmedMean(8)", fn=lambda _: a.aggregate(rows))
    add("trmean", "trimmed mean f=8", 64, 65536, "trimmed-mean(f=8)", fl_tm, py_tm)

    def fl_meamed(p, x, xt, rows):
        a = p.agg.Meamed(f=8)
        return dict(what="aggregators.Meamed(f=8)", fn=lambda _: a(xt))

    def py_meamed(p, x, xt, rows):
        a = p.cw.MeanOfMedians(8)
        return dict(what="coordinate_wise.MeanOfMedians(8)", fn=lambda _: a.aggregate(rows),
                    definition="ByzPy's centre is torch.median (the lower middle value), robustagg's the "
                               "mean of the two middle values: the n - f values kept can differ")
    add("meamed", "Meamed f=8", 64, 65536, "meamed(f=8)", fl_meamed, py_meamed)

    def fl_mda(p, x, xt, rows):
        a = p.agg.MDA(f=10)
        return dict(what="aggregators.MDA(f=10)", fn=lambda _: a(xt), subsets=(30, 20))

    def py_mda(p, x, xt, rows):
        a = p.gw.MinimumDiameterAveraging(10)
        return dict(what="geometric_wise.MinimumDiameterAveraging(10)", fn=lambda _: a.aggregate(rows))
    add("mda", "MDA f=10", 30, 2048, "mda(f=10)", fl_mda, py_mda)

    def py_cge(p, x, xt, rows):
        a = p.nw.ComparativeGradientElimination(8)
        return dict(what="norm_wise.ComparativeGradientElimination(8)", fn=lambda _: a.aggregate(rows))
    add("cge", "CGE f=8", 64, 65536, "cge(f=8)", None, py_cge)

    if quick:
        for w in W:
            w["d"] = min(w["d"], 256)
    return W


def fmt_ms(sec):
    ms = sec * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def cell(c, reps):
    if c is None:
        return "–"
    if c.status == "ok":
        s = fmt_ms(statistics.median(c.times))
        return s if len(c.times) >= reps else f"{s} ({len(c.times)})"
    if c.status == "absent":
        return "–"
    if c.status == "refused":
        return "refused: " + c.message.replace("|", "\\|")
    if c.status == "timeout":
        return c.message
    return c.status


def loaded_blas():
    """The BLAS libraries loaded in this process (numpy's matmul uses them)."""
    try:
        with open("/proc/self/maps") as fh:
            libs = {line.split()[-1] for line in fh if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none found"
    except OSError:
        return "?"


def loadavg():
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def iterations_used(run, kmax):
    """The number of steps a tolerance-stopped iteration took: the smallest k
    whose run(k) (the same rule with at most k steps) equals run(kmax) bitwise."""
    ref = _as_np(run(kmax))
    lo, hi = 1, kmax
    while lo < hi:
        mid = (lo + hi) // 2
        if np.array_equal(_as_np(run(mid)), ref):
            hi = mid
        else:
            lo = mid + 1
    return lo


def table(args):
    import robustagg
    robustagg.set_num_threads(args.threads)
    try:
        import torch
        if args.torch_threads > 0:
            torch.set_num_threads(args.torch_threads)
        torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    except ImportError:
        torch = None
        torch_info = "torch not importable"
    reps = args.reps if args.reps is not None else (3 if args.quick else 9)
    budget = args.budget if args.budget is not None else (2.0 if args.quick else 30.0)
    timeout = args.timeout if args.timeout is not None else (20.0 if args.quick else 60.0)

    for entry in args.peer_path:
        for p in entry.split(os.pathsep):
            if not p:
                continue
            if os.path.isfile(os.path.join(p, "python", "byzpy", "__init__.py")):
                p = os.path.join(p, "python")  # a ByzPy checkout: its package lives in python/
            sys.path.insert(0, os.path.abspath(p))

    peers, peer_notes = {}, {}
    for name in ("byzfl", "byzpy"):
        if torch is None:
            peers[name], peer_notes[name] = None, ["skipped: needs torch"]
        else:
            peers[name], peer_notes[name] = load_peer(name, not args.no_peer_shims)
    labels = {"byzfl": "ByzFL", "byzpy": "ByzPy"}

    print(f"# robustagg vs ByzFL and ByzPy on ByzPy's benchmark workloads{' (--quick)' if args.quick else ''}")
    print()
    print(f"robustagg {robustagg.__version__} ({robustagg.simd_arch()}), {robustagg.num_threads()} thread(s); "
          f"{torch_info}; numpy {np.__version__} (BLAS: {loaded_blas()}); Python {sys.version.split()[0]}; "
          f"float32, N(0, 1) inputs (seed {args.seed} and the workload's name)")
    for name in ("byzfl", "byzpy"):
        p = peers[name]
        state = (f"from {p.where}" + (f" (version {p.version})" if p.version else "")) if p else ""
        lines = ([state] if state else []) + peer_notes[name]
        print(f"{labels[name]}: " + "; ".join(lines))
    load_before = loadavg()
    print(f"Load average (1, 5, 15 min) at the start: {load_before}")
    print(f"Times: median of {reps} interleaved calls (fewer, in parentheses, when a contender used up "
          f"its {budget:g} s budget), ms; a call over {timeout:g} s is stopped (timeout). "
          f"read pass = a reused robustagg.Aggregator('mean') with out= (one read of the input) at "
          f"the same threads.", flush=True)

    workloads = build_workloads(args.quick)
    if args.only:
        keys = set(args.only.split(","))
        workloads = [w for w in workloads if w["key"] in keys]
    records, notes = [], []
    for w in workloads:
        n, d, spec = w["n"], w["d"], w["spec"]
        # Each workload's input depends on the seed and its key only (not on --only).
        rng = np.random.default_rng([args.seed, zlib.crc32(w["key"].encode())])
        x = rng.standard_normal((n, d), dtype=np.float32)
        xt = torch.from_numpy(x) if torch is not None else None
        rows = list(xt.unbind(0)) if torch is not None else None
        cont = {}
        for name in ("byzfl", "byzpy"):
            make = w[name]
            if make is None:
                c = Contender(labels[name], "no such rule", None)
                c.status = "absent"
            elif peers[name] is None:
                c = Contender(labels[name], "peer not importable", None)
                c.status, c.message = "n/a", ""
            else:
                kw = make(peers[name], x, xt, rows)
                subsets = kw.pop("subsets", None)
                c = Contender(labels[name], **kw)
                c.files = peer_files(peers[name], c.what)
                if subsets is not None and math.comb(*subsets) > args.peer_max_subsets:
                    c.status = "skipped"
                    c.message = (f"lists all C({subsets[0]}, {subsets[1]}) = {math.comb(*subsets)} subsets in "
                                 f"memory before searching (> --peer-max-subsets {args.peer_max_subsets})")
            cont[name] = c
        agg = robustagg.Aggregator(spec)
        out = np.empty(d, np.float32)
        mean_agg = robustagg.Aggregator("mean")
        mean_out = np.empty(d, np.float32)
        cont["fresh"] = Contender("robustagg", f"robustagg.aggregate(x, {spec!r})",
                                  lambda _: robustagg.aggregate(x, spec))
        cont["reused"] = Contender("robustagg reused", f"Aggregator({spec!r})(x, out=out)",
                                   lambda _: agg(x, out=out))
        cont["read"] = Contender("read pass", "Aggregator('mean')(x, out=out)",
                                 lambda _: mean_agg(x, out=mean_out))

        # First call of each: the warm-up, whose result is checked.
        for c in cont.values():
            if c.status != "pending":
                continue
            try:
                c.result, t = c.call(timeout)
                c.status, c.first = "ok", t
            except Timeout:
                c.status, c.message = "timeout", f"> {timeout:g} s (timeout)"
            except robustagg.Error as e:
                c.status, c.message = "refused", _first_line(e)
            except Exception as e:  # a peer's failure is a table entry, not a crash
                c.status, c.message = "failed", f"{type(e).__name__}: {_first_line(e)}"
                if c.column.startswith("robustagg"):
                    c.status = "refused"
        fresh = cont["fresh"]
        if fresh.status == "ok" and cont["reused"].status == "ok" and not np.array_equal(
                _as_np(fresh.result), _as_np(cont["reused"].result)):
            notes.append(f"{w['label']}: robustagg.aggregate and the reused Aggregator differ (unexpected)")

        # Agreement with robustagg, where the definitions match.
        for name in ("byzfl", "byzpy"):
            c = cont[name]
            if c.status != "ok":
                continue
            ref_spec = c.check_spec or spec
            try:
                ref = fresh.result if ref_spec == spec else robustagg.aggregate(x, ref_spec)
                if fresh.status != "ok" and ref_spec == spec:
                    raise robustagg.Error(fresh.message)
            except robustagg.Error as e:
                c.check = {"status": "not checked", "against": ref_spec, "why": _first_line(e)}
                notes.append(f"{w['label']}, {c.column}: not checked (robustagg refused {ref_spec})")
                continue
            r = rel_diff(c.result, ref)
            agrees = r <= args.rtol
            c.check = {"status": "agrees" if agrees else "differs", "against": ref_spec, "rel_diff": r}
            against = "" if ref_spec == spec else f" {ref_spec}"
            if agrees:
                text = f"agrees with robustagg{against} (relative difference {r:.1e})"
            else:
                text = (f"differs from robustagg{against}: relative difference {r:.2g} > {args.rtol:g}; "
                        + (f"definitions differ: {c.definition}" if c.definition else
                           "no definition difference known to this script"))
            if ref_spec != spec and fresh.status == "ok":
                r0 = rel_diff(c.result, fresh.result)
                c.check["rel_diff_timed_spec"] = r0
                text += f"; against the timed {spec}: relative difference {r0:.2g}"
            notes.append(f"{w['label']}, {c.column}: {text}")
            if c.definition and agrees:
                notes.append(f"{w['label']}, {c.column}: (agrees although {c.definition})")

        if fresh.status == "ok" and w["key"] != "bucketing":
            rm = rel_diff(fresh.result, robustagg.aggregate(x, "mean"))
            if rm <= args.rtol:
                notes.append(f"{w['label']}: on this input robustagg's result is within the agreement "
                             f"tolerance of the plain mean (relative difference {rm:.1e}): the check cannot "
                             f"tell this rule from the mean here")
        if w["key"] == "gm_tol" and fresh.status == "ok":
            k = iterations_used(lambda k: robustagg.aggregate(x, f"geometric-median(iterations={k})"), 64)
            info = f"robustagg stopped after {k} of at most 64 steps"
            if cont["byzpy"].status == "ok":
                gm_cls = peers["byzpy"].gw.GeometricMedian
                kp = iterations_used(lambda k: gm_cls(tol=1e-6, max_iter=k).aggregate(rows), 128)
                info += f"; ByzPy after {kp} of at most 128"
            notes.append(f"{w['label']}: {info}")
        if w["note"]:
            notes.append(f"{w['label']}: {w['note']}")

        # Timed calls, interleaved; the starting contender rotates every round.
        active = [c for c in cont.values() if c.status == "ok"]
        for c in active:
            if c.first > budget:  # one call used up the budget: that call is the measurement
                c.times.append(c.first)
        for rnd in range(reps):
            order = active[rnd % len(active):] + active[:rnd % len(active)] if active else []
            for c in order:
                if c.spent > budget or (c.first > budget):
                    continue
                try:
                    _, t = c.call(timeout)
                except Timeout:
                    c.spent = float("inf")
                    continue
                c.times.append(t)
                c.spent += t
        for c in active:
            if not c.times:
                c.times.append(c.first)

        peer_times = [statistics.median(cont[p].times) for p in ("byzfl", "byzpy") if cont[p].status == "ok"]
        ratio = (min(peer_times) / statistics.median(fresh.times)) if (peer_times and fresh.status == "ok") else None
        reused, read = cont["reused"], cont["read"]
        over_read = (statistics.median(reused.times) / statistics.median(read.times)
                     if reused.status == "ok" and read.status == "ok" else None)

        def check_cell(c):
            if c.check is None:
                return "–"
            return {"agrees": "ok", "differs": "differs", "not checked": "n/c"}[c.check["status"]]
        reused_cell = ("refused (as above)" if reused.status == "refused" and fresh.status == "refused"
                       and reused.message == fresh.message else cell(reused, reps))
        row = [w["label"], str(n), str(d), cell(cont["byzfl"], reps), cell(cont["byzpy"], reps),
               cell(fresh, reps), f"{ratio:.2f}x" if ratio is not None else "–", reused_cell,
               cell(read, reps), f"{over_read:.2f}" if over_read is not None else "–",
               f"{check_cell(cont['byzfl'])} / {check_cell(cont['byzpy'])}"]
        rec = {"key": w["key"], "workload": w["label"], "n": n, "d": d, "spec": spec,
               "best_peer_over_robustagg": ratio, "reused_over_read_pass": over_read, "row": row}
        for key, c in cont.items():
            rec[key] = {"what": c.what, "files": getattr(c, "files", None), "status": c.status,
                        "message": c.message,
                        "seconds": statistics.median(c.times) if c.status == "ok" else None,
                        "times": c.times, "check": c.check}
            if c.status in ("failed", "skipped", "timeout") and key in ("byzfl", "byzpy"):
                notes.append(f"{w['label']}, {c.column}: {c.status}: {c.message}")
        records.append(rec)
        print(f"  measured {w['label']} (n={n}, d={d}): " + ", ".join(
            f"{cont[k].column} {cell(cont[k], reps)}" for k in cont), file=sys.stderr, flush=True)

    load_after = loadavg()
    header = ["workload", "n", "d", "ByzFL ms", "ByzPy ms", "robustagg fresh ms", "best peer / robustagg",
              "robustagg reused ms", "read pass ms", "reused / read", "agrees (FL / Py)"]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for rec in records:
        print("| " + " | ".join(rec["row"]) + " |")
    print()
    print(f"Load average (1, 5, 15 min) at the end: {load_after}")
    print("– : the peer has no such rule; n/a : the peer is not importable (above); "
          "agrees: ok = within the relative tolerance "
          f"{args.rtol:g} in norm of robustagg (or of the robustagg spec matching the peer's definition), "
          "n/c = not checked.")
    print()
    print("Peer calls (file:class in the peer's checkout, then the call):")
    listed = 0
    for rec in records:
        for key, label in (("byzfl", "ByzFL"), ("byzpy", "ByzPy")):
            if rec[key]["status"] not in ("absent", "n/a"):
                listed += 1
                print(f"- {rec['workload']}, {label}: {', '.join(rec[key]['files'] or [])}: {rec[key]['what']}")
    if not listed:
        print("- none: no peer was importable")
    if notes:
        print()
        print("Notes:")
        for s in notes:
            print(f"- {s}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"mode": "table", "quick": args.quick, "robustagg": robustagg.__version__,
                       "robustagg_threads": robustagg.num_threads(), "simd": robustagg.simd_arch(),
                       "torch": (torch.__version__ if torch else None),
                       "torch_threads": (torch.get_num_threads() if torch else None),
                       "numpy": np.__version__, "reps": reps, "budget_s": budget, "timeout_s": timeout,
                       "rtol": args.rtol, "load_before": load_before, "load_after": load_after,
                       "peers": {k: {"loaded": peers[k] is not None,
                                     "where": (peers[k].where if peers[k] else None),
                                     "notes": peer_notes[k]} for k in peers},
                       "header": header, "records": records, "notes": notes}, fh, indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="5,15,25,51,101")
    ap.add_argument("--dims", default="100000,10000000")
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions (grid: 5; --table: 9 interleaved calls; --quick: 3)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per measurement at most (grid: 20; --table: per contender and "
                         "workload, 30; --quick: 2)")
    ap.add_argument("--sweep", type=int, default=0,
                    help="instead of the rows x dims grid: for each n of --rows, d = SWEEP // n "
                         "(bench_sweep's shapes); numpy and torch medians only")
    ap.add_argument("--out", default="")
    ap.add_argument("--table", action="store_true",
                    help="robustagg vs ByzFL and ByzPy on ByzPy's benchmark workloads (Markdown table)")
    ap.add_argument("--quick", action="store_true",
                    help="--table on tiny shapes (d <= 256), 3 calls, 2 s budgets: a smoke run")
    ap.add_argument("--only", default="", help="--table: comma-separated workload keys (e.g. median,cge)")
    ap.add_argument("--peer-path", action="append", default=[],
                    help="--table: directories to put first on sys.path to find byzfl / byzpy "
                         f"(repeatable or '{os.pathsep}'-separated; a ByzPy checkout's python/ is found)")
    ap.add_argument("--no-peer-shims", action="store_true",
                    help="--table: skip a peer whose package import fails, instead of importing its "
                         "aggregators without its framework-only dependency (see above)")
    ap.add_argument("--peer-max-subsets", type=int, default=1000000,
                    help="--table: skip ByzFL's MDA above this many subsets (it lists them all in memory)")
    ap.add_argument("--threads", type=int, default=2, help="--table: robustagg threads (default 2)")
    ap.add_argument("--torch-threads", type=int, default=0,
                    help="--table: torch.set_num_threads (default 0: as configured)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="--table: seconds one call may take (default 60; --quick 20)")
    ap.add_argument("--rtol", type=float, default=1e-3,
                    help="--table: relative difference in norm under which a peer agrees (default 1e-3)")
    ap.add_argument("--seed", type=int, default=0, help="--table: seed of the N(0, 1) float32 inputs")
    args = ap.parse_args()
    if args.quick:
        args.table = True
    return table(args) if args.table else grid(args)


if __name__ == "__main__":
    sys.exit(main())
