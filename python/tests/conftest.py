"""Shared helpers for the robustagg Python tests (run by CTest: python.*)."""
import os
import subprocess

import numpy as np
import pytest

import robustagg as ra

CLI = os.environ.get("ROBUSTAGG_CLI")

# pip_install.py runs these tests against a package installed in a venv: make
# sure that is the robustagg imported, not a build tree's.
_PREFIX = os.environ.get("ROBUSTAGG_EXPECT_PREFIX")
if _PREFIX and not os.path.realpath(ra.__file__).startswith(os.path.realpath(_PREFIX) + os.sep):
    raise RuntimeError(f"robustagg imported from {ra.__file__}, not from the venv {_PREFIX}")

# One spec per catalogue rule, chosen for the 15-row `grouped` input below
# (5 groups of 3 identical rows; DETOX needs them). A rule added to the C++
# catalogue later without an entry here is tried with its required
# parameters = 1 and skipped if that is not valid.
SPECS = {
    "mean": ["mean"],
    "median": ["median"],
    "trimmed-mean": ["trimmed-mean(f=2)", "trimmed-mean(f=0)"],
    "krum": ["krum(f=2)", "krum(f=6)"],
    "multi-krum": ["multi-krum(f=2)", "multi-krum(f=2, m=4)"],
    "bulyan": ["bulyan(f=3)", "bulyan(f=1)"],
    "sign-vote": ["sign-vote"],
    "noisy-median": ["noisy-median(b=0.5, seed=7)", "noisy-median(b=0)"],
    "noisy-sign-vote": ["noisy-sign-vote(b=0.25, seed=3)"],
    "detox": ["detox(r=3)", "detox(r=3, inner=krum(f=0), outer=median)",
              "detox(r=3, buckets=2, inner=mean, outer=mean)",
              "detox(r=3, outer=multi-krum(f=1))"],
}


def specs_for(info):
    if info.name in SPECS:
        return SPECS[info.name]
    params = [p.strip() for p in info.parameters.split(",") if p.strip()]
    required = [p for p in params if "=" not in p]
    return [info.name + (("(" + ", ".join(f"{p}=1" for p in required) + ")") if required else "")]


def all_specs():
    return [s for info in ra.rules() for s in specs_for(info)]


def grouped(dtype, d=37, seed=0):
    """15 rows: 5 groups of 3 identical rows, one row of group 4 different."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(5, d))
    g = np.repeat(base, 3, axis=0)
    g[13] = rng.normal(scale=10.0, size=d)
    return g.astype(dtype)


def cli_aggregate(tmp_path, g, spec):
    """The C++ result for the same input, through `robustagg aggregate`."""
    if not CLI:
        pytest.skip("ROBUSTAGG_CLI not set (the CLI is not built)")
    src, dst = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, np.ascontiguousarray(g))
    p = subprocess.run([CLI, "aggregate", "--rule", spec, str(src), str(dst)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return np.load(dst), None


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def copy_count():
    """The module's count of input copies (test builds only: _robustagg._testing);
    skips the calling test in a module built without the test hooks (pip)."""
    hooks = getattr(ra._robustagg, "_testing", None)
    if hooks is None:
        pytest.skip("module built without ROBUSTAGG_PYTHON_TEST_HOOKS (no copy counter)")
    return hooks.copy_count()
