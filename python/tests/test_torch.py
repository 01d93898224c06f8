"""CPU torch.Tensor inputs (skipped when torch is not installed)."""
import numpy as np
import pytest

import robustagg as ra
from conftest import copy_count, grouped, same_bits

torch = pytest.importorskip("torch")


def bits(t):
    return t.numpy().tobytes()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("spec", ["median", "krum(f=2)", "bulyan(f=3)", "detox(r=3)",
                                  "sign-vote", "mean"])
def test_tensors_match_numpy(dtype, spec):
    g = torch.from_numpy(grouped(np.float64)).to(dtype)
    expected = ra.aggregate(g.numpy(), spec)
    for form in (g, list(g), tuple(g), [r.clone() for r in g]):
        r = ra.aggregate(form, spec)
        assert isinstance(r, torch.Tensor) and r.dtype == dtype and r.shape == (g.shape[1],)
        assert bits(r) == expected.tobytes()
    # Strided views
    big = torch.zeros(30, 50, dtype=dtype)
    big[::2, 3:40] = g
    assert bits(ra.aggregate(big[::2, 3:40], spec)) == expected.tobytes()
    assert bits(ra.aggregate(g.t().contiguous().t(), spec)) == expected.tobytes()
    out = torch.empty(g.shape[1], dtype=dtype)
    assert ra.aggregate(g, spec, out=out) is out and bits(out) == expected.tobytes()


def test_zero_copy_and_unmodified():
    g = torch.randn(16, 1000)
    before = g.clone()
    c = copy_count()
    ra.aggregate(g, "median")
    ra.aggregate(g[::2], "median")
    ra.aggregate(list(g), "median")
    assert copy_count() == c
    col = g.t().contiguous().t()                      # column-major: read in place
    assert bits(ra.aggregate(col, "median")) == bits(ra.aggregate(g, "median"))
    assert bits(ra.aggregate(col, "krum(f=2)")) == bits(ra.aggregate(g, "krum(f=2)"))
    assert copy_count() == c
    assert torch.equal(g, before)


def test_grad_buffers_and_requires_grad():
    model = torch.nn.Linear(8, 3)
    x = torch.randn(5, 8)
    model(x).sum().backward()
    rows = [torch.cat([p.grad.reshape(-1) for p in model.parameters()]) for _ in range(5)]
    assert torch.equal(ra.aggregate(rows, "median"), rows[0])
    w = torch.randn(5, 4, requires_grad=True)
    r = ra.aggregate(w, "mean")
    assert not r.requires_grad
    torch.testing.assert_close(r, w.detach().mean(0))
    # p.grad views of a flat buffer, the list-of-rows form from parameters.
    flat = torch.randn(7, 12)
    assert bits(ra.aggregate([flat[i] for i in range(7)], "krum(f=1)")) == \
        ra.aggregate(flat.numpy(), "krum(f=1)").tobytes()


def test_tensor_errors():
    g = torch.randn(15, 8)
    with pytest.raises(TypeError, match="float32 or float64, got torch.float16"):
        ra.aggregate(g.half(), "median")
    with pytest.raises(TypeError, match="torch.int64"):
        ra.aggregate(g.long(), "median")
    with pytest.raises(TypeError, match="torch.bfloat16"):
        ra.aggregate([g[0].bfloat16()], "median")
    with pytest.raises(TypeError, match="tensor on meta.*CPU"):
        ra.aggregate(torch.empty(15, 8, device="meta"), "median")
    with pytest.raises(TypeError, match="gradients\\[1\\] is a tensor on meta"):
        ra.aggregate([g[0], torch.empty(8, device="meta")], "median")
    with pytest.raises(TypeError, match="sparse"):
        ra.aggregate(g.to_sparse(), "median")
    with pytest.raises(ValueError, match="2-D"):
        ra.aggregate(g[0], "median")
    with pytest.raises(TypeError, match="out.*dtype"):
        ra.aggregate(g, "median", out=torch.empty(8, dtype=torch.float64))
    with pytest.raises(TypeError, match="out is a tensor on meta"):
        ra.aggregate(g, "median", out=torch.empty(8, device="meta"))
    with pytest.raises(ValueError, match="overlaps"):
        ra.aggregate(g, "median", out=g[2])
    with pytest.raises(ra.Error, match="bulyan"):
        ra.aggregate(g, ra.Bulyan(4))


def test_perturb_and_attacks_on_tensors():
    g = torch.randn(9, 50, dtype=torch.float64)
    p = ra.perturb(g[0], 0.5, 3, 0)
    assert isinstance(p, torch.Tensor) and p.dtype == torch.float64
    assert p.numpy().tobytes() == ra.perturb(g[0].numpy(), 0.5, 3, 0).tobytes()
    noisy = torch.stack([ra.perturb(g[i], 0.5, 3, i) for i in range(9)])
    assert bits(ra.aggregate(noisy, "median")) == bits(ra.aggregate(g, ra.NoisyMedian(0.5, seed=3)))
    a = ra.attacks.apply("ipm", g, [0, 1])
    assert isinstance(a, torch.Tensor) and torch.equal(a[2:], g[2:])
    assert same_bits(a.numpy(), ra.attacks.apply("ipm", g.numpy(), [0, 1]))
