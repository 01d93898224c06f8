"""robustagg.torch: stacking model gradients into n x d and writing the robust
gradient back into .grad (skipped when torch is not installed)."""
import numpy as np
import pytest

import robustagg as ra

torch = pytest.importorskip("torch")
import robustagg.torch as rt  # noqa: E402


def model(seed, dtype=torch.float32):
    """A small MLP with gradients; float16/bfloat16 models (whose CPU matmul torch
    1.13 lacks) get their float32 gradients converted, as mixed precision leaves them."""
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    m = m.to(torch.float64 if dtype == torch.float64 else torch.float32)
    m(torch.randn(8, 5, dtype=next(m.parameters()).dtype)).square().sum().backward()
    return m.to(dtype)  # converts the parameters and their .grad


def test_stack_is_parameters_to_vector_of_the_gradients():
    workers = [model(s) for s in range(4)]
    G = rt.stack_gradients(workers)
    assert G.shape == (4, 4 * 5 + 4 + 3 * 4 + 3) and G.dtype == torch.float32
    for i, w in enumerate(workers):
        want = torch.nn.utils.parameters_to_vector([p.grad for p in w.parameters()])
        assert torch.equal(G[i], want)
    assert rt.gradient_size(workers[0]) == G.shape[1]
    # per-worker lists of gradient tensors, and of Parameters, give the same rows
    lists = [[p.grad for p in w.parameters()] for w in workers]
    assert torch.equal(rt.stack_gradients(lists), G)
    assert torch.equal(rt.stack_gradients([list(w.parameters()) for w in workers]), G)


def test_out_is_reused_and_frozen_parameters_are_skipped():
    workers = [model(s) for s in range(3)]
    for w in workers:
        w[0].bias.requires_grad_(False)
    d = sum(p.numel() for p in workers[0].parameters() if p.requires_grad)
    out = torch.empty(3, d)
    ptr = out.data_ptr()
    assert rt.stack_gradients(workers, out=out) is out and out.data_ptr() == ptr
    assert torch.equal(out[1], torch.cat([p.grad.reshape(-1) for p in workers[1].parameters()
                                          if p.requires_grad]))


def test_write_back_round_trip_and_none_gradients():
    workers = [model(s) for s in range(5)]
    G = rt.stack_gradients(workers)
    robust = ra.aggregate(G, "median")
    target = model(9)
    target.zero_grad(set_to_none=True)
    rt.write_gradients(robust, target)
    assert torch.equal(rt.stack_gradients([target])[0], robust)
    # in place when .grad exists; every model of a list gets the vector
    grads_before = [p.grad for p in workers[0].parameters()]
    rt.write_gradients(robust, workers)
    assert all(p.grad is g for p, g in zip(workers[0].parameters(), grads_before))
    for w in workers:
        assert torch.equal(rt.stack_gradients([w])[0], robust)
    # a parameter unused in the step (grad None) is stacked as zeros
    target[2].bias.grad = None
    row = rt.stack_gradients([target])[0]
    assert torch.equal(row[-3:], torch.zeros(3))


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_mixed_precision(half):
    workers = [model(s, dtype=half) for s in range(3)]
    G = rt.stack_gradients(workers)
    assert G.dtype == torch.float32  # converted by the one copy
    for i, w in enumerate(workers):
        want = torch.cat([p.grad.reshape(-1).float() for p in w.parameters()])
        assert torch.equal(G[i], want)  # float16/bfloat16 -> float32 is exact
    robust = ra.aggregate(G, "mean")
    target = model(7, dtype=half)
    rt.write_gradients(robust, target)
    assert all(p.grad.dtype == half for p in target.parameters())
    assert torch.equal(torch.cat([p.grad.reshape(-1) for p in target.parameters()]), robust.to(half))
    assert rt.stack_gradients(workers, dtype=torch.float64).dtype == torch.float64


def test_float64_gradients_give_float64():
    workers = [model(s, dtype=torch.float64) for s in range(3)]
    assert rt.stack_gradients(workers).dtype == torch.float64


def test_errors():
    a, b = model(0), torch.nn.Linear(5, 4)
    b(torch.randn(2, 5)).sum().backward()
    with pytest.raises(ValueError, match="worker 1 has 2 gradients of 24 values, worker 0 4 of 39"):
        rt.stack_gradients([a, b])
    with pytest.raises(ValueError, match="workers is empty"):
        rt.stack_gradients([])
    with pytest.raises(ValueError, match=r"out must have shape \(n, d\) = \(1, 39\)"):
        rt.stack_gradients([a], out=torch.empty(2, 39))
    with pytest.raises(TypeError, match="float32 or float64 CPU tensor"):
        rt.stack_gradients([a], out=torch.empty(1, 39, dtype=torch.float16))
    with pytest.raises(TypeError, match="must be float16, bfloat16, float32 or float64"):
        rt.stack_gradients([[torch.zeros(3, dtype=torch.int64)]])
    with pytest.raises(ValueError, match="vector has 5 values, the parameters 39"):
        rt.write_gradients(torch.zeros(5), a)
    with pytest.raises(ValueError, match="vector must be 1-D"):
        rt.write_gradients(torch.zeros(3, 13), a)
    with pytest.raises(TypeError, match="got one tensor"):
        rt.stack_gradients([torch.zeros(3)])
