"""Peer measurement for BENCHMARKS.md: PyTorch training-step time of resnet18 (10 classes, 3x64x64, batch 16, Adam).

Not part of the product: TrainStepComparison runs it beside ember's step, as ../shared/baselines.md describes:
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 benchmarks/peers/pytorch_resnet18_train_step.py bn
torchvision is not installed here, so the network is written out (torchvision's resnet18: BasicBlock, [2, 2, 2, 2]).
Variants, one per process so each peak RSS is its own:
    bn      torchvision's resnet18 in train mode (BatchNorm with batch statistics): the baselines.md row;
    folded  the same network with every BatchNorm folded into its conv (conv with bias, no BatchNorm): the graph
            that resnet18.onnx holds and that ember trains, so the same arithmetic on both sides.
Prints: name, batch, median ms per step, peak RSS MiB, first-step ms (as pytorch_train_step.py).
"""
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("n/a\tpython3-torch not installed")
    sys.exit(0)

# importing it also refuses Debian's reference BLAS (peer_blas)
from pytorch_train_step import peak_rss_mib, step_times

torch.set_num_threads(2)
torch.manual_seed(0)


def norm(channels, bn):
    return nn.BatchNorm2d(channels) if bn else nn.Identity()


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, bn):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=not bn)
        self.bn1 = norm(cout, bn)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=not bn)
        self.bn2 = norm(cout, bn)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=not bn), norm(cout, bn))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def resnet18(classes, bn):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=not bn), norm(64, bn), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride, bn), BasicBlock(cout, cout, 1, bn)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


if __name__ == "__main__":
    variant = sys.argv[1] if len(sys.argv) > 1 else "bn"
    if variant not in ("bn", "folded"):
        sys.exit(f"unknown variant {variant!r}: bn or folded")
    print(f"version\tPyTorch {torch.__version__}")
    model = resnet18(10, variant == "bn").train()
    batch = 16
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ms, first = step_times(model, opt, torch.randn(batch, 3, 64, 64), torch.randint(0, 10, (batch,)), warmup=60, steps=20)  # TrainStepComparison.RESNET_WARMUP_STEPS
    print(f"resnet18-{variant}\t{batch}\t{ms:.3f}\t{peak_rss_mib():.0f}\t{first:.3f}")
