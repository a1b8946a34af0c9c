"""
The peer of our grounding-model training step, in PyTorch: the same architecture as src/models/grounding.ts (ViT
vision tower FiLM-conditioned on a trajectory encoder, text tower, linear heads, symmetric InfoNCE) and the same
AdamW, reading the initial weights and the batch that bench/peer.ts exported as safetensors, so that its first losses
can be checked against ours before its speed is compared.

    python3 grounding.py DIR parity STEPS       -> DIR/torch-losses.json (losses of STEPS steps)
    python3 grounding.py DIR time STEPS THREADS -> prints {"stepsPerSecond": ...} (after 3 warm-up steps)

Weights are stored [in, out] (our layout), so a linear layer is x @ W + b here too. Only numpy and torch are needed
(Debian's python3-torch); the safetensors format is read by hand (8-byte header length, JSON header, raw data).
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

from peer_common import Layers, adamw, load_export, step, steps_per_second


class Grounding(Layers):
    def encoder(self, x, name, dims, key_mask=None, mods=None, final="post_layernorm"):
        for i in range(dims["layers"]):
            n = f"{name}.encoder.layers.{i}"
            h = self.ln(x, n + ".layer_norm1")
            if mods is not None:
                g, b = mods[i]
                h = h * (1 + g[:, None, :]) + b[:, None, :]
            x = x + self.attn(h, n + ".self_attn", dims["heads"], key_mask)
            h = self.ln(x, n + ".layer_norm2")
            x = x + self.lin(F.gelu(self.lin(h, n + ".mlp.fc1"), approximate="tanh"), n + ".mlp.fc2")
        return self.ln(x, f"{name}.{final}")

    @staticmethod
    def masked_mean(x, mask):
        m = mask[:, :, None]
        return (x * m).sum(1) / m.sum(1).clamp(min=1)

    @staticmethod
    def l2(x):
        return x / (x.norm(dim=-1, keepdim=True) + 1e-8)

    def film(self, traj, mask):
        c = self.c
        n = c["normalisation"]
        scale = torch.tensor([n["actionScale"], n["actionScale"], n["xScale"], n["yScale"]])
        shift = torch.tensor([0.0, 0.0, n["xCenter"] * n["xScale"], 0.0])
        T = traj.shape[1]
        x = self.lin(traj * scale - shift, "action_model.input_proj") + self.p["action_model.position_embedding.weight"][:T]
        pooled = self.masked_mean(self.encoder(x, "action_model", c["action"], mask), mask)
        w = c["vision"]["width"]
        out = []
        for layer in range(c["vision"]["layers"]):
            gb = self.lin(pooled, f"film.layers.{layer}")
            out.append((gb[:, :w], gb[:, w:]))
        return out, pooled

    def vision(self, images, traj, mask):
        c = self.c
        B, S, _, C = images.shape
        p = c["patch"]
        g = S // p
        pixels = (images - torch.tensor(c["pixelMean"])) / torch.tensor(c["pixelStd"])
        x = pixels.reshape(B, g, p, g, p, C).permute(0, 1, 3, 2, 4, 5).reshape(B, g * g, p * p * C)
        x = self.lin(x, "vision_model.embeddings.patch_embedding") + self.p["vision_model.embeddings.position_embedding.weight"]
        mods, traj_pooled = self.film(traj, mask) if c["conditioning"] == "action" else (None, None)
        h = self.encoder(x, "vision_model", c["vision"], None, mods)
        pooled = h.mean(1)
        if c["pooling"] == "attention":
            # The mean plus a one-query attention pool: the learned probe, plus the trajectory's projection when
            # conditioned (src/models/grounding.ts encodeVisionAction).
            q = self.p["vision_model.head.probe"][None, :]
            if traj_pooled is not None:
                q = q + self.lin(traj_pooled, "film.pool_query")
            att = torch.softmax((h * q[:, None, :]).sum(2) / math.sqrt(c["vision"]["width"]), dim=1)
            pooled = pooled + (h * att[:, :, None]).sum(1)
        return self.l2(self.lin(pooled, "vision_model.head"))

    def text(self, ids, mask):
        L = ids.shape[1]
        x = self.p["text_model.embeddings.token_embedding.weight"][ids] + self.p["text_model.embeddings.position_embedding.weight"][:L]
        h = self.encoder(x, "text_model", self.c["text"], mask, None, "final_layer_norm")
        return self.l2(self.lin(self.masked_mean(h, mask), "text_model.head"))

    def loss(self, batch):
        zi = self.vision(batch["images"], batch["trajectories"], batch["trajectoryMask"])
        zt = self.text(batch["ids"], batch["textMask"])
        zi = zi / (zi.norm(dim=-1, keepdim=True) + 1e-12)
        zt = zt / (zt.norm(dim=-1, keepdim=True) + 1e-12)
        scale = self.p["logit_scale"].exp().clamp(max=self.c["logitScaleMax"])
        logits = (zi @ zt.t()) * scale
        target = torch.arange(logits.shape[0])
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def setup(d):
    cfg, params, batch = load_export(d)
    return Grounding(params, cfg), batch, adamw(params, cfg["optimizer"])


def main():
    d, mode, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.manual_seed(0)
    if mode == "parity":
        torch.set_num_threads(1)
        model, batch, opt = setup(d)
        losses = [step(model.loss, batch, opt) for _ in range(steps)]
        json.dump({"losses": losses}, open(f"{d}/torch-losses.json", "w"))
    elif mode == "time":
        torch.set_num_threads(int(sys.argv[4]))
        model, batch, opt = setup(d)
        sps = steps_per_second(model.loss, batch, opt, steps)
        print(json.dumps({"stepsPerSecond": sps, "threads": torch.get_num_threads(), "torch": torch.__version__}))
    else:
        raise SystemExit(f"unknown mode {mode!r}: parity or time")


if __name__ == "__main__":
    main()
