"""Peer measurement for tools/gpu-check (issue 7): PyTorch on the same GPU as ember's GpuBenchmark.

Not part of the product (which has no Python). GpuBenchmark runs it with whichever `python3` has torch:
    python3 benchmarks/peers/pytorch_gpu_bench.py --device cuda --sgemm 4096 --batch 64 --image 224 --steps 20
Same protocol as ours: `--warmup` untimed runs, then the median of `--steps`, each bracketed by synchronizations.
  - SGEMM: torch.matmul n x n x n in float32 with TF32 off (ember computes in full float32), and again with TF32 on
    for a note. TFLOP/s = 2 n^3 / median time.
  - resnet18 training step: a hand-written resnet18 (torchvision may be absent) shaped like ../shared's
    resnet18.onnx, which has BatchNorm folded into its convolutions: every conv carries a bias, no BatchNorm.
    New `--classes` head, every parameter trained, cross-entropy, Adam lr 1e-3, one fixed random batch.
    cuDNN: TF32 off, algorithm search on, deterministic algorithms only (as ember's cuDNN binding).
Prints tab-separated lines GpuBenchmarkPeer reads: `peer DESCRIPTION`, `sgemm TFLOPS MS`, `sgemm_tf32 TFLOPS MS`,
`resnet18 IMAGES_PER_S MS`, or `unavailable REASON` when there is no torch (with CUDA, for --device cuda).
"""
import argparse
import statistics
import sys
import time


def unavailable(reason, detail):
    print(f"unavailable\t{reason}")
    print(detail, file=sys.stderr)
    sys.exit(0)


def timed(fn, warmup, steps, sync):
    """Median milliseconds of `steps` calls of fn after `warmup` untimed ones, each between two syncs."""
    times = []
    for i in range(warmup + steps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append((t1 - t0) * 1000)
    return statistics.median(times)


def resnet18(nn, classes):
    """torchvision's resnet18 layout with BatchNorm folded away: conv (with bias) + ReLU."""

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else None

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.conv1(x))
            return self.relu(self.conv2(out) + identity)

    layers = [nn.Conv2d(3, 64, 7, 2, 3), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--sgemm", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--image", type=int, default=224)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    cuda = args.device == "cuda"
    no_torch = "no torch with CUDA" if cuda else "no torch"
    try:
        import torch
        import torch.nn as nn
    except ImportError as e:
        unavailable(no_torch, f"{sys.executable}: {e}")
    if cuda and not torch.cuda.is_available():
        unavailable(no_torch, f"{sys.executable}: torch {torch.__version__} sees no CUDA device (built for CUDA {torch.version.cuda})")

    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    name = torch.cuda.get_device_name(dev) if cuda else "CPU"
    print(f"peer\tPyTorch {torch.__version__}" + (f", CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}" if cuda else "")
          + f", {name}")
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = True

    n = args.sgemm
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    flops = 2.0 * n ** 3
    ms = timed(lambda: torch.matmul(a, b), args.warmup, args.steps, sync)
    print(f"sgemm\t{flops / (ms * 1e-3) / 1e12:.6g}\t{ms:.6g}")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        ms = timed(lambda: torch.matmul(a, b), args.warmup, args.steps, sync)
        print(f"sgemm_tf32\t{flops / (ms * 1e-3) / 1e12:.6g}\t{ms:.6g}")
        torch.backends.cuda.matmul.allow_tf32 = False
    del a, b
    sys.stdout.flush()

    model = resnet18(nn, args.classes).to(dev).train()
    x = torch.randn(args.batch, 3, args.image, args.image, device=dev)
    y = torch.randint(0, args.classes, (args.batch,), device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    ms = timed(step, args.warmup, args.steps, sync)
    print(f"resnet18\t{args.batch / (ms * 1e-3):.6g}\t{ms:.6g}")


if __name__ == "__main__":
    main()
