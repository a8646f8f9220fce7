"""Write a reference dump in the layout of ../shared/golden/README.md with PyTorch.

usage: python make_reference.py SEED BATCH OUT.safetensors [DATA_DIR]

Takes BATCH images drawn at random (numpy, SEED) from DATA_DIR (a folder of circle/,
square/, triangle/ images, e.g. one made by `cnn-tutor data generate`), initialises the
seed's Net with torch.manual_seed(SEED), and stores input, target, init.*, act.*, loss,
grad.*, adam1.*, adam3.* and adam.losses with both dropouts off. Then
`cnn-tutor verify --reference OUT.safetensors` must pass. Needs torch, numpy, pillow and
safetensors; nothing in the build or the test suite runs it.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from seed_net import Net


def main():
    torch.set_num_threads(2)
    seed, batch, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    data = sys.argv[4] if len(sys.argv) > 4 else "data/shapes"
    classes = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)))
    torch.manual_seed(seed)
    net = Net(len(classes))
    net.eval()
    rng = np.random.default_rng(seed)
    xs, ts = [], []
    for _ in range(batch):
        c = int(rng.integers(0, len(classes)))
        names = sorted(os.listdir(os.path.join(data, classes[c])))
        f = os.path.join(data, classes[c], names[int(rng.integers(0, len(names)))])
        a = np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255.0
        xs.append(torch.from_numpy(a).permute(2, 0, 1))
        ts.append(c)
    x = ((torch.stack(xs) - 0.5) / 0.5).contiguous()
    t = torch.tensor(ts, dtype=torch.int64)
    d = {"input": x, "target": t}
    for k, v in net.state_dict().items():
        d["init." + k] = v.clone()
    c1 = net.conv1(x); p1 = net.pool(c1); r1 = F.relu(p1)
    c2 = net.conv2(r1); p2 = net.pool(c2); r2 = F.relu(p2)
    c3 = net.conv3(r2); r3 = F.relu(c3)
    lg = net.fc(r3.view(-1, 24576)); lp = F.log_softmax(lg, dim=1)
    acts = dict(conv1=c1, pool1=p1, relu1=r1, conv2=c2, pool2=p2, relu2=r2,
                conv3=c3, relu3=r3, logits=lg, log_probs=lp)
    for k, v in acts.items():
        d["act." + k] = v.detach().contiguous()
    crit = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(net.parameters(), lr=0.001)
    losses = []
    for step in range(3):
        opt.zero_grad()
        loss = crit(net(x), t)
        losses.append(loss.item())
        loss.backward()
        if step == 0:
            d["loss"] = loss.detach().reshape(1)
            for k, p in net.named_parameters():
                d["grad." + k] = p.grad.clone()
        opt.step()
        if step in (0, 2):
            for k, v in net.state_dict().items():
                d[f"adam{step + 1}." + k] = v.clone()
    d["adam.losses"] = torch.tensor(losses, dtype=torch.float32)
    save_file(d, out, metadata={"seed": str(seed), "batch": str(batch),
                                "classes": ",".join(classes)})
    print("wrote", out, "losses", losses)


if __name__ == "__main__":
    main()
