"""Peer measurement for BENCHMARKS.md: float32 C = A @ B through NumPy (Debian's OpenBLAS), 2 threads.

Not part of the product: SgemmComparison runs it beside ember's matmul, as ../shared/baselines.md describes:
    OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 /usr/bin/python3 benchmarks/peers/numpy_sgemm.py 1024x1024x1024
Shapes are MxKxN. Per shape: warm-up (>= 3 calls and 0.5 s), then calls until >= 10 and 1.5 s; prints
    sgemm <TAB> shape <TAB> median ms <TAB> GFLOP/s (2MNK / median)
With --check DIR SHAPE it also writes A, B (seeded standard normal) and numpy's C for SHAPE to DIR as .npy,
so the caller can check its own product on the very same inputs.
"""
import statistics
import sys
import time

try:
    import numpy as np
except ImportError:
    print("n/a\tpython3-numpy not installed")
    sys.exit(0)


import peer_blas  # noqa: E402  (after the library that loads the BLAS)

peer_blas.refuse_reference_blas()


def parse(shape):
    m, k, n = (int(s) for s in shape.split("x"))
    return m, k, n


def inputs(m, k, n):
    rng = np.random.default_rng(1)
    return rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)


def median_ms(f, warm_s=0.5, budget_s=1.5, min_calls=10, max_calls=5000):
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < warm_s:
        f()
        calls += 1
    times = []
    start = time.perf_counter()
    while len(times) < max_calls and (len(times) < min_calls or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv):
    if argv[:1] == ["--check"]:
        out, shape = argv[1], argv[2]
        a, b = inputs(*parse(shape))
        np.save(f"{out}/a.npy", a)
        np.save(f"{out}/b.npy", b)
        np.save(f"{out}/c.npy", a @ b)
        argv = argv[3:]
    print(f"version\tNumPy {np.__version__}")
    for shape in argv:
        m, k, n = parse(shape)
        a, b = inputs(m, k, n)
        ms = median_ms(lambda: a @ b)
        print(f"sgemm\t{shape}\t{ms:.4f}\t{2.0 * m * n * k / ms / 1e6:.1f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
