"""The part of the PyTorch references that is the same for every family
(tests/reference/gpt_reference.py, llama_reference.py): read the inputs the
C++ test wrote (tests/pytorch_reference.h, WriteParityInputs), run one
forward/backward and the optimizer steps with torch.optim.AdamW, write the
results. A family's script gives only its forward pass.

run(make_forward): make_forward(spec) returns forward(p, tok) -> logits
[B, T, V], p being the parameters by GGUF tensor name.
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def run(make_forward):
    d = sys.argv[1]
    spec = json.load(open(f"{d}/spec.json"))
    cfg, B, T = spec["config"], spec["B"], spec["T"]
    V = cfg["vocab"]
    forward = make_forward(spec)
    flat = np.fromfile(f"{d}/params.f32", dtype=np.float32)
    p = {}
    for t in spec["tensors"]:
        a = flat[t["offset"]:t["offset"] + t["size"]].reshape(t["shape"])
        p[t["name"]] = torch.tensor(a, requires_grad=True)
    steps = len(spec["lrs"])
    batches = np.fromfile(f"{d}/batches.i32", dtype=np.int32).reshape(steps, 2, B, T)
    batches = torch.tensor(batches, dtype=torch.long)

    def flatten(get):
        out = np.zeros_like(flat)
        for t in spec["tensors"]:
            out[t["offset"]:t["offset"] + t["size"]] = get(p[t["name"]]).reshape(-1)
        return out

    # 1. One forward and backward at the initial parameters.
    logits = forward(p, batches[0, 0])
    loss = F.cross_entropy(logits.view(-1, V), batches[0, 1].reshape(-1))
    loss.backward()
    logits.detach().numpy().astype(np.float32).tofile(f"{d}/ref_logits.f32")
    flatten(lambda x: x.grad.detach().numpy()).tofile(f"{d}/ref_grads.f32")
    loss0 = loss.item()

    # 2. Optimizer steps.
    o = spec["optim"]
    decay = [p[t["name"]] for t in spec["tensors"] if t["decay"]]
    no_decay = [p[t["name"]] for t in spec["tensors"] if not t["decay"]]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=spec["lrs"][0], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    step_losses = []
    for s in range(steps):
        for g in opt.param_groups:
            g["lr"] = spec["lrs"][s]
        opt.zero_grad()
        logits = forward(p, batches[s, 0])
        loss = F.cross_entropy(logits.view(-1, V), batches[s, 1].reshape(-1))
        loss.backward()
        if o["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(list(p.values()), o["grad_clip"])
        opt.step()
        step_losses.append(loss.item())
    flatten(lambda x: x.detach().numpy()).tofile(f"{d}/ref_params.f32")
    json.dump({"loss0": loss0, "step_losses": step_losses}, open(f"{d}/ref.json", "w"))
