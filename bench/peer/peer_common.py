"""What the PyTorch peers share: reading our safetensors exports, the AdamW our optimiser matches, one step, timing."""
import json
import struct
import time

import math

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    """Tensors (F32/I32) of a safetensors file as numpy arrays, and its metadata (Debian has no safetensors package)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dtype = {"F32": np.float32, "I32": np.int32}[info["dtype"]]
        out[name] = np.frombuffer(data[base + a : base + b], dtype=dtype).reshape(info["shape"]).copy()
    return out, header.get("__metadata__", {})


def load_export(d):
    """config.json, the initial weights (leaf tensors with gradients) and the batch (int32 → int64) of an export dir."""
    cfg = json.load(open(f"{d}/config.json"))
    w, _ = read_safetensors(f"{d}/init.safetensors")
    b, _ = read_safetensors(f"{d}/batch.safetensors")
    params = {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}
    batch = {k: torch.tensor(v.astype(np.int64) if v.dtype == np.int32 else v) for k, v in b.items()}
    return cfg, params, batch


def adamw(params, o):
    """torch AdamW as ours: decoupled decay on matrices only (rank ≥ 2), lr/betas/eps/decay from the exported settings."""
    decay = [p for p in params.values() if p.dim() >= 2]
    plain = [p for p in params.values() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": o["weightDecay"]}, {"params": plain, "weight_decay": 0.0}],
        lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
    )


def step(loss_fn, batch, opt):
    """One training step (constant lr, no clipping); returns the loss."""
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(batch)
    loss.backward()
    opt.step()
    return loss.item()


def steps_per_second(loss_fn, batch, opt, steps, warmup=3):
    for _ in range(warmup):
        step(loss_fn, batch, opt)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(loss_fn, batch, opt)
    return steps / (time.perf_counter() - t0)


class Layers:
    """The layers both ports share, over a dict of our exported parameters: dense, LayerNorm (eps 1e-6, as ours) and
    SigLIP-style multi-head attention (bidirectional; an optional key mask of 1/0 becomes our additive −1e9)."""

    def __init__(self, params, cfg):
        self.p = params
        self.c = cfg

    def lin(self, x, name, bias=True):
        y = x @ self.p[name + ".weight"]
        return y + self.p[name + ".bias"] if bias else y

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.p[name + ".weight"], self.p[name + ".bias"], eps=1e-6)

    def attn(self, x, name, heads, key_mask=None):
        B, T, d = x.shape
        dh = d // heads
        q = self.lin(x, name + ".q_proj").view(B, T, heads, dh).transpose(1, 2)
        k = self.lin(x, name + ".k_proj").view(B, T, heads, dh).transpose(1, 2)
        v = self.lin(x, name + ".v_proj").view(B, T, heads, dh).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        if key_mask is not None:
            s = s + ((key_mask - 1.0) * 1e9)[:, None, None, :]
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, d)
        return self.lin(o, name + ".o_proj")
