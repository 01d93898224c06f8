"""A robust data-parallel trainer in 15 lines: 8 simulated workers, 2 of them Byzantine
(they send their gradient reversed and scaled by 10), robustagg.torch stacking the workers'
model gradients into one 8 x d tensor, CGE aggregating it, the result written into the
model's .grad. python3 examples/python/robust_trainer.py (docs/python.md)."""
import copy, torch, robustagg, robustagg.torch as rt
torch.manual_seed(0)
X = torch.randn(2048, 20); y = (X @ torch.randn(20, 3)).argmax(1)           # a synthetic 3-class task
model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
workers = [copy.deepcopy(model) for _ in range(8)]
opt, agg, G = torch.optim.SGD(model.parameters(), lr=0.2), robustagg.Aggregator("cge(f=2)"), None
for step in range(200):
    for w in workers:
        w.load_state_dict(model.state_dict()); w.zero_grad()
        batch = torch.randint(0, len(X), (64,))
        torch.nn.functional.cross_entropy(w(X[batch]), y[batch]).backward()
    G = rt.stack_gradients(workers, out=G)                                     # row i = worker i's gradient
    G[:2] *= -10                                                               # the Byzantine workers' rows
    rt.write_gradients(agg(G), model); opt.step()                              # robust gradient -> .grad
print(f"training accuracy {(model(X).argmax(1) == y).float().mean():.3f} (cge(f=2), 2 of 8 Byzantine)")
