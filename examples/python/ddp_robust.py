import os, tempfile, torch, torch.distributed as dist, torch.multiprocessing as mp
import robustagg.torch as rt
from torch.nn.parallel import DistributedDataParallel as DDP

def worker(rank, n, store):  # one process per rank; rank 3 sends NaN gradients
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=n)
    model = DDP(torch.nn.Linear(10, 1))
    model.register_comm_hook(None, rt.comm_hook("trimmed-mean(f=1)", mode="sharded", byzantine={3: "nan"}))
    opt, w = torch.optim.SGD(model.parameters(), lr=0.1), torch.linspace(-1, 1, 10)
    for step in range(100):
        x = torch.randn(32, 10); opt.zero_grad(); (model(x).squeeze(1) - x @ w).pow(2).mean().backward(); opt.step()
    if rank == 0: print(f"distance to the true weights: {(model.module.weight[0] - w).norm():.4f}")

if __name__ == "__main__":
    mp.spawn(worker, args=(4, os.path.join(tempfile.mkdtemp(), "store")), nprocs=4)
