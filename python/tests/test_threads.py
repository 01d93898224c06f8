"""The GIL is released while a rule runs; concurrent calls are safe."""
import threading
import time

import numpy as np

import robustagg as ra
from conftest import grouped, same_bits


def test_gil_is_released_during_a_long_call():
    g = np.random.default_rng(0).normal(size=(15, 2_000_000)).astype(np.float32)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    ra.set_num_threads(1)  # leave a core to the ticker
    try:
        t.start()
        time.sleep(0.02)
        t0 = time.perf_counter()
        for _ in range(3):
            ra.aggregate(g, "krum(f=3)")
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
        ra.set_num_threads(0)
    # Ticks strictly inside the calls, away from their edges: with the GIL
    # held the ticker would not run at all until the calls return.
    margin = 0.1 * (t1 - t0)
    inside = [x for x in ticks if t0 + margin < x < t1 - margin]
    assert t1 - t0 > 0.05, "calls too short to test"
    assert len(inside) >= 10, (len(inside), t1 - t0)


def test_concurrent_calls_on_shared_inputs():
    rng = np.random.default_rng(1)
    g32 = np.repeat(rng.normal(size=(5, 20000)), 3, axis=0).astype(np.float32)
    g32[4] += 1.0
    g64 = grouped(np.float64, d=5000)
    specs = ["median", "krum(f=2)", "bulyan(f=3)", "detox(r=3)", "multi-krum(f=2)",
             "noisy-median(b=1, seed=2)"]
    inputs = [g32, list(g32), g64, g64[:, ::2]]
    expected = {(i, s): ra.aggregate(x, s) for i, x in enumerate(inputs) for s in specs}
    before = [np.array(x, copy=True) for x in inputs]
    shared = ra.Aggregator("bulyan(f=3)")
    shared_expected = ra.aggregate(g32, "bulyan(f=3)")
    errors = []

    def work(k):
        try:
            for rep in range(4):
                for i, x in enumerate(inputs):
                    for s in specs[(k + rep) % len(specs):] + specs[:(k + rep) % len(specs)]:
                        if not same_bits(ra.aggregate(x, s), expected[(i, s)]):
                            errors.append((k, i, s))
                if not same_bits(shared(g32), shared_expected):
                    errors.append((k, "shared"))
                shared.report  # read while others call
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for x, b in zip(inputs, before):
        assert same_bits(np.asarray(x), b)


def test_errors_from_threads_are_exceptions():
    g = grouped(np.float32)
    caught = []

    def work():
        try:
            ra.aggregate(g, "bulyan(f=5)")
        except ra.Error as e:
            caught.append(str(e))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(caught) == 4 and all("bulyan(f=5)" in c for c in caught)
