"""Peer measurement for BENCHMARKS.md: PyTorch training-step time for the models of issue 6.

Not part of the product (which has no Python): the side-by-side harness runs it with Debian's
python3-torch, as ../shared/baselines.md describes:
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 benchmarks/peers/pytorch_train_step.py mlp
Prints one line per model: name, batch, median ms per step, peak RSS MiB, first-step ms (and "n/a <TAB> reason" without torch).
"""
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("n/a\tpython3-torch not installed")
    sys.exit(0)


import peer_blas  # noqa: E402  (after the library that loads the BLAS)

peer_blas.refuse_reference_blas()

torch.set_num_threads(2)
torch.manual_seed(0)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


def peak_rss_mib():
    """VmHWM of this process. Not ru_maxrss: started from a JVM, that inherits the parent's high-water mark."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# Least warm-up time, as TrainStepComparison.WARMUP_SECONDS on ember's side (which needs it for its JIT compiler).
WARMUP_SECONDS = 3.0


def step_times(model, opt, x, y, warmup, steps):
    """(median ms, first-step ms) of forward + cross-entropy + backward + optimizer step on the fixed batch (x, y);
    the median after at least `warmup` steps and at least WARMUP_SECONDS of them after the first."""
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    start = time.perf_counter()
    step()
    first, i = (time.perf_counter() - start) * 1000, 1
    start = time.perf_counter()   # the warm-up's time counts from the second step, as on ember's side
    while i < warmup or time.perf_counter() - start < WARMUP_SECONDS:
        step()
        i += 1
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), first


def measure(name, model, batch, warmup=20, steps=100):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    ms, first = step_times(model, opt, torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,)), warmup, steps)
    print(f"{name}\t{batch}\t{ms:.3f}\t{peak_rss_mib():.0f}\t{first:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    which = sys.argv[1:] or ["mlp", "cnn"]
    print(f"version\tPyTorch {torch.__version__}")
    if "mlp" in which:
        measure("mlp", mlp(), 128, steps=500)   # TrainStepComparison.MLP_STEPS
    if "cnn" in which:
        measure("cnn", cnn(), 64)
