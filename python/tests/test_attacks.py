"""The attack catalogue: robustagg.attacks() against the CLI's listing, the
catalogue's entries, label flipping as a data attack."""
import pickle
import subprocess

import numpy as np
import pytest

import robustagg as ra
from conftest import CLI, same_bits

NAMES = ["none", "alie", "ipm", "reverse", "constant", "gaussian", "nan", "inf", "sign-flip",
         "mimic", "optimal-alie", "optimal-ipm", "min-max", "min-sum", "label-flip"]


def test_catalogue():
    cat = ra.attacks()
    assert cat == ra.attacks.catalog()
    assert [a.name for a in cat] == NAMES == ra.attacks.known()
    kinds = {a.name: a.kind for a in cat}
    assert kinds["label-flip"] == "data" and {kinds[n] for n in NAMES[:-1]} == {"gradient"}
    mm = cat[NAMES.index("min-max")]
    assert mm.parameters == "p=std" and "honest" in mm.requirement and mm.summary
    assert isinstance(cat[0], ra.attacks.AttackInfo) and cat[0]._fields == (
        "name", "parameters", "kind", "requirement", "summary")


def test_catalogue_is_what_the_cli_lists():
    if not CLI:
        pytest.skip("CLI not built")
    out = subprocess.run([CLI, "attacks"], capture_output=True, text=True, check=True).stdout
    for a in ra.attacks():
        head = f"{a.name}({a.parameters})" if a.parameters else a.name
        assert f"  {head}  [{a.kind}]\n      {a.summary}\n      requires {a.requirement}\n" in out


def test_every_gradient_attack_by_spec():
    g = np.random.default_rng(5).normal(size=(9, 6))
    for a in ra.attacks():
        spec = a.name + ("(rule=median, steps=4)" if a.name.startswith("optimal") else "")
        at = ra.attacks.parse(spec)
        assert at.name == a.name and at.kind == a.kind
        assert ra.attacks.parse(at.spec) == at and hash(ra.attacks.parse(at.spec)) == hash(at)
        assert pickle.loads(pickle.dumps(at)) == at
        assert repr(at) == f"Attack('{at.spec}')"
        if a.kind == "data":
            with pytest.raises(ra.Error, match=r"label-flip\(classes=10\) is a data attack"):
                ra.attacks.apply(at, g, [0])
            continue
        out = ra.attacks.apply(at, g, [0, 4], step=2)
        assert same_bits(np.delete(out, [0, 4], axis=0), np.delete(g, [0, 4], axis=0)), a.name
        assert (a.name == "none") == same_bits(out, g), a.name


def test_min_max_definition():
    # The largest gamma with max_i |mu - gamma p - x_i|^2 <= max_ij |x_i - x_j|^2 (p = std):
    # honest rows 0, 2, 4 on one coordinate: mu = 2, p = 2, the bound 16; the farthest honest
    # row from 2 - 2 gamma is 4 (gamma > 0): (2 + 2 gamma)^2 = 16 gives gamma = 1, row = 0.
    g = np.array([[0.0], [2.0], [4.0], [99.0]])
    out = ra.attacks.apply("min-max", g, [3])
    assert abs(out[3, 0] - 0.0) < 1e-8


def test_flip_labels():
    y = np.array([0, 3, 9], dtype=np.int64)
    assert ra.attacks.flip_labels(y).tolist() == [9, 6, 0]
    assert ra.attacks.flip_labels(y, classes=12).tolist() == [11, 8, 2]
    assert ra.attacks.flip_labels(y).dtype == np.int64
    assert ra.attacks.flip_labels(4) == 5
    with pytest.raises(ra.Error, match=r"label-flip\(classes=10\) needs 0 <= label < classes"):
        ra.attacks.flip_labels(np.array([1, 10]))
    with pytest.raises(TypeError, match="integers"):
        ra.attacks.flip_labels(np.array([1.0]))
    torch = pytest.importorskip("torch")
    t = torch.tensor([0, 1, 2])
    assert ra.attacks.flip_labels(t, classes=3).tolist() == [2, 1, 0]
    with pytest.raises(ra.Error):
        ra.attacks.flip_labels(torch.tensor([-1]))


def test_parse_errors():
    with pytest.raises(ra.Error, match=r"unknown attack 'lie' \(known: none, alie, .*label-flip\)"):
        ra.attacks.parse("lie")
    with pytest.raises(ra.Error, match=r"ipm has no parameter 'c' \(ipm takes eps=0.5\)"):
        ra.attacks.parse("ipm(c=1)")
    with pytest.raises(ra.Error, match="p must be one of std, unit, sign, got 'up'"):
        ra.attacks.parse("min-max(p=up)")
    assert ra.attacks.parse("alie(z=auto)").spec == "alie"
