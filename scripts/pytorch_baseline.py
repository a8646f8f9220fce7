#!/usr/bin/env python3
"""The seed notebook's shapes CNN trained in PyTorch on the CPU, as a speed baseline.

This is the notebook's code ("Convolutional Neural Networks with PyTorch"), kept as it is
where it matters for the comparison: ImageFolder + ToTensor + Normalize(0.5, 0.5), a 70/30
random_split, DataLoaders of 50 without shuffling, the same Net, Adam(lr=0.001),
CrossEntropyLoss on the log_softmax output, 5 epochs. Two things are added: 2 threads
(torch.set_num_threads(2)) and a seed, and instead of the notebook's prose it prints one
JSON object per epoch, with the keys of `cnn-tutor train --json`, then one summary object
with the peak resident memory.

Usage: pytorch_baseline.py DATA_DIR [--epochs 5] [--batch-size 50] [--lr 0.001]
                                    [--threads 2] [--seed 42] [--preload]
                                    [--device cpu|cuda] [--arch TEXT]

`--arch TEXT` trains another network, written in cnn-tutor's architecture text and built
with the same layers by tests/pytorch/cnn_arch.py (what `cnn-tutor train --arch` trains).

`--preload` decodes every image once before training (as cnn-tutor does) instead of the
notebook's decode-on-every-batch, to separate compute speed from JPEG/PNG decoding.
`--device cuda` runs the model on the GPU (eager mode, as the notebook would with
`.to(device)`): each batch is copied to the device as it comes from the DataLoader.
"""

import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms


class Net(nn.Module):
    """The seed's network, unchanged (its parameter names are cnn-tutor's checkpoint names)."""

    def __init__(self, num_classes=3):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(in_channels=3, out_channels=12, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=2)
        self.conv2 = nn.Conv2d(in_channels=12, out_channels=12, kernel_size=3, stride=1, padding=1)
        self.conv3 = nn.Conv2d(in_channels=12, out_channels=24, kernel_size=3, stride=1, padding=1)
        self.drop = nn.Dropout2d(p=0.2)
        self.fc = nn.Linear(in_features=32 * 32 * 24, out_features=num_classes)

    def forward(self, x):
        x = F.relu(self.pool(self.conv1(x)))
        x = F.relu(self.pool(self.conv2(x)))
        x = F.relu(self.drop(self.conv3(x)))
        x = F.dropout(x, training=self.training)
        x = x.view(-1, 32 * 32 * 24)
        x = self.fc(x)
        return F.log_softmax(x, dim=1)


def load_dataset(data_path, batch_size, preload):
    """The seed's load_dataset: ImageFolder, ToTensor, Normalize(0.5, 0.5), 70/30 split."""
    transformation = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),
    ])
    full_dataset = torchvision.datasets.ImageFolder(root=data_path, transform=transformation)
    classes = full_dataset.classes
    if preload:
        images = torch.stack([full_dataset[i][0] for i in range(len(full_dataset))])
        labels = torch.tensor(full_dataset.targets)
        full_dataset = torch.utils.data.TensorDataset(images, labels)
    train_size = int(0.7 * len(full_dataset))
    test_size = len(full_dataset) - train_size
    train_dataset, test_dataset = torch.utils.data.random_split(
        full_dataset, [train_size, test_size])
    train_loader = torch.utils.data.DataLoader(
        train_dataset, batch_size=batch_size, num_workers=0, shuffle=False)
    test_loader = torch.utils.data.DataLoader(
        test_dataset, batch_size=batch_size, num_workers=0, shuffle=False)
    return classes, train_loader, test_loader


def train(model, train_loader, optimizer, loss_criteria, device):
    """One epoch of the seed's train(): returns the mean batch loss."""
    model.train()
    train_loss = 0.0
    batches = 0
    for data, target in train_loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = loss_criteria(output, target)
        train_loss += loss.item()
        loss.backward()
        optimizer.step()
        batches += 1
    return train_loss / batches


def test(model, test_loader, loss_criteria, device):
    """The seed's test(): mean batch loss and the fraction classified right."""
    model.eval()
    test_loss = 0.0
    correct = 0
    batches = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += loss_criteria(output, target).item()
            _, predicted = torch.max(output.data, 1)
            correct += torch.sum(target == predicted).item()
            batches += 1
    return test_loss / batches, correct / len(test_loader.dataset)


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="image folder, one sub-folder per class")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--preload", action="store_true",
                        help="decode all images once before training")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the model runs (cuda: the first GPU)")
    parser.add_argument("--arch", default=None,
                        help="a network in cnn-tutor's architecture text (default: the seed's Net), "
                             "built by tests/pytorch/cnn_arch.py with the same layers")
    args = parser.parse_args()
    if args.epochs < 1:
        sys.exit("error: --epochs must be at least 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    classes, train_loader, test_loader = load_dataset(args.data, args.batch_size, args.preload)
    load_seconds = time.perf_counter() - start

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda but torch sees no CUDA GPU")
    device = torch.device(args.device)
    if args.arch:
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "tests" / "pytorch"))
        import cnn_arch
        model = cnn_arch.build(args.arch, in_shape=(3, 128, 128), classes=len(classes)).to(device)
    else:
        model = Net(num_classes=len(classes)).to(device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_criteria = nn.CrossEntropyLoss()
    n_train = len(train_loader.dataset)

    train_total = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        train_loss = train(model, train_loader, optimizer, loss_criteria, device)
        if args.device == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        val_loss, val_accuracy = test(model, test_loader, loss_criteria, device)
        t2 = time.perf_counter()
        train_total += t1 - t0
        print(json.dumps({
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "train_images_per_second": n_train / (t1 - t0),
            "seconds": t2 - t0,
        }), flush=True)

    print(json.dumps({
        "summary": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "preload": args.preload,
        "classes": classes,
        "arch": args.arch,
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "train_images": n_train,
        "val_images": len(test_loader.dataset),
        "load_seconds": load_seconds,
        "train_images_per_second": n_train * args.epochs / train_total,
        "total_seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
    }), flush=True)


if __name__ == "__main__":
    main()
