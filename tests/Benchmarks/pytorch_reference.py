"""The same computations as the kit's benchmarks (tests/Catalogue/Techniques.cs, ForwardPasses.cs), in PyTorch, for the ratio
column of README.md.

Run with Debian's python3-torch / python3-torchvision; the kit never runs it. Weights are random: the time of a pass
does not depend on them.
    python3 tests/Benchmarks/pytorch_reference.py           # median of 3 runs of each workload
    python3 tests/Benchmarks/pytorch_reference.py --serve   # for alternate.py: runs the workload named on each line once
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.manual_seed(0)
torch.set_num_threads(2)


def fashion_cnn():
    # The architecture of lib/Models/FashionCnn.cs.
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 9, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10)).eval()


fashion = fashion_cnn()
resnet = torchvision.models.resnet18().eval()
for p in list(fashion.parameters()) + list(resnet.parameters()):
    p.requires_grad_(False)
garments = torch.rand(100, 1, 28, 28)
labels = torch.randint(0, 10, (100,))
cat = torch.rand(1, 3, 224, 224)


def occlusion(model, image, patch, stride, batch, target):
    _, _, h, w = image.shape
    positions = [(y, x) for y in range(0, h - patch + 1, stride) for x in range(0, w - patch + 1, stride)]
    with torch.no_grad():
        for start in range(0, len(positions), batch):
            chunk = positions[start:start + batch]
            masks = torch.zeros(len(chunk), 1, h, w)
            for i, (y, x) in enumerate(chunk):
                masks[i, :, y:y + patch, x:x + patch] = 1
            F.softmax(model(image * (1 - masks) + 0.5 * masks), 1)[:, target]
        F.softmax(model(image), 1)


def saliency(model, images, target):
    x = images.clone().requires_grad_(True)
    model(x)[:, target].sum().backward()
    x.grad.abs().amax(1)


class GuidedRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h):
        ctx.save_for_backward(h)
        return h.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (h,) = ctx.saved_tensors
        return grad.clamp(min=0) * (h > 0)


class GuidedReluModule(nn.Module):
    def forward(self, h):
        return GuidedRelu.apply(h)


def guided(model):
    # A copy of the model whose ReLU modules pass only positive gradients where the input was positive.
    import copy
    guided_model = copy.deepcopy(model)
    for name, module in list(guided_model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(module, child_name, GuidedReluModule())
    return guided_model


guided_fashion, guided_resnet = guided(fashion), guided(resnet)


def unit_gradient(model, layer, images):
    captured = {}
    handle = layer.register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    x = images.clone().requires_grad_(True)
    model(x)
    handle.remove()
    out = captured["out"]
    out[:, 0, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
    return x.grad


def class_visualisation(steps=100):
    x = torch.zeros(10, 1, 28, 28)
    classes = torch.arange(10)
    for step in range(steps):
        x.requires_grad_(True)
        shifted = torch.roll(x, shifts=(1, -1), dims=(2, 3))
        score = fashion(shifted).gather(1, classes[:, None]).sum() - 0.05 * (x ** 2).sum()
        (g,) = torch.autograd.grad(score, x)
        with torch.no_grad():
            x = (x + 0.1 * g).clamp(0, 1)
            if step % 4 == 0:
                x = torchvision.transforms.functional.gaussian_blur(x, 3, 0.7)


trunk_to_layer3 = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool, resnet.layer1, resnet.layer2, resnet.layer3)


def deepdream_octave(steps=10):
    x = cat.clone()
    for _ in range(steps):
        x.requires_grad_(True)
        (g,) = torch.autograd.grad(trunk_to_layer3(x).pow(2).mean(), x)
        with torch.no_grad():
            x = (x + 0.015 * g / (g.abs().mean() + 1e-8)).clamp(0, 1)


def fgsm(eps=0.03):
    x = garments.clone().requires_grad_(True)
    F.cross_entropy(fashion(x), labels, reduction="sum").backward()
    adv = (garments + eps * x.grad.sign()).clamp(0, 1)
    with torch.no_grad():
        fashion(garments).argmax(1), F.softmax(fashion(adv), 1).max(1)


def pgd(eps=0.03, alpha=0.01, steps=20):
    adv = (garments + torch.empty_like(garments).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(fashion(adv), labels, reduction="sum"), adv)
        with torch.no_grad():
            adv = torch.min(torch.max(adv + alpha * g.sign(), garments - eps), garments + eps).clamp(0, 1)
    with torch.no_grad():
        fashion(garments).argmax(1), F.softmax(fashion(adv), 1).max(1)


def one_pixel_generation(population=400):
    with torch.no_grad():
        candidates = garments[:1].repeat(population, 1, 1, 1)
        ys, xs = torch.randint(0, 28, (population,)), torch.randint(0, 28, (population,))
        candidates[torch.arange(population), 0, ys, xs] = torch.rand(population)
        F.softmax(fashion(candidates), 1)[:, labels[0]]


def forward(model, images):
    with torch.no_grad():
        model(images)


photos = torch.rand(8, 3, 224, 224)

workloads = [
    ("occlusion", "28 x 28, patch 8, stride 1, fashion-cnn", lambda: occlusion(fashion, garments[:1], 8, 1, 64, 9)),
    ("occlusion", "224 x 224, patch 32, stride 8, ResNet-18", lambda: occlusion(resnet, cat, 32, 8, 32, 281)),
    ("class saliency", "100 images, fashion-cnn", lambda: saliency(fashion, garments, 0)),
    ("class saliency", "1 photo 224 x 224, ResNet-18", lambda: saliency(resnet, cat, 281)),
    ("guided backprop", "100 images, one relu3 unit, fashion-cnn", lambda: unit_gradient(guided_fashion, guided_fashion[10], garments)),
    ("guided backprop", "1 photo 224 x 224, one layer4 unit, ResNet-18", lambda: unit_gradient(guided_resnet, guided_resnet.layer4, cat)),
    ("class visualisation", "100 steps, 10 classes at once, fashion-cnn", class_visualisation),
    ("DeepDream", "one octave of 10 steps, 224 x 224, ResNet-18 trunk", deepdream_octave),
    ("FGSM", "100 images, fashion-cnn", fgsm),
    ("PGD", "100 images, 20 steps, fashion-cnn", pgd),
    ("one-pixel attack", "one generation of 400 candidates, fashion-cnn", one_pixel_generation),
    ("ResNet-18 forward", "8 images 224 x 224, no gradients", lambda: forward(resnet, photos)),
]


def serve():
    """The PyTorch half of alternate.py's comparison: the same protocol as the kit's Serve.cs."""
    by_name = {f"{name}: {size}": run for name, size, run in workloads}
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == "list":
            print("\n".join(by_name) + "\n", flush=True)
        elif line in by_name:
            start = time.perf_counter()
            by_name[line]()
            print(f"{(time.perf_counter() - start) * 1000:.2f}", flush=True)
        else:
            print(f"unknown workload: {line}", flush=True)


if len(sys.argv) > 1 and sys.argv[1] == "--serve":
    serve()
    sys.exit(0)

print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
print("| technique | size | PyTorch median of 3 (ms) |\n|---|---|---:|")
for name, size, run in workloads:
    run()  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    print(f"| {name} | {size} | {statistics.median(times):.1f} |", flush=True)
