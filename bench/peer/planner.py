"""
The peer of our planner's training steps, in PyTorch: the same Gemma-3-style VLM as src/models/planner.ts (SigLIP-style
ViT → 2×2-pooled soft tokens → RMSNorm + projector; decoder with pre/post RMSNorms, GQA, QK-norm, rotate-half RoPE,
sliding-window local layers and global ones, GeGLU, √d-scaled tied embeddings), its teacher-forced log-probabilities
(Planner.logProb) and the two losses the pipeline trains it with:

    sft   — mean token negative log-likelihood of the completion (lmLoss in src/experiments/tasks.ts);
    simpo — −log σ(β·(r(chosen) − r(rejected) − γ/β)) with r the mean per-token log-probability (simpoLoss in
            src/train/losses.ts); no reference model.

It reads the initial weights and the batches that bench/peer/planner.ts exported as safetensors, and uses the same
AdamW (constant learning rate, no clipping, decay on matrices only), so that its first losses can be checked against
ours before its speed is compared.

    python3 planner.py DIR parity STEPS                 -> DIR/torch-planner-losses.json ({"sft": [...], "simpo": [...],
                                                           "simpoChosen": [...], "simpoRejected": [...]})
    python3 planner.py DIR time sft|simpo STEPS THREADS -> prints {"stepsPerSecond": ...} (after 3 warm-up steps)

Weights are stored [in, out] (our layout), so a linear layer is x @ W here too. Only numpy and torch are needed.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from peer_common import Layers, adamw, load_export, step, steps_per_second


EPS = 1e-6  # LayerNorm and RMSNorm (ours and QK-norm alike)
NEG = 1e9  # our additive mask value (attentionMask in src/nn/attention.ts), not −inf


class Planner(Layers):
    def __init__(self, params, cfg, seq_len):
        super().__init__(params, cfg)
        # Fixed per sequence length: RoPE tables and the causal / sliding-window masks, built once (as constants, like
        # our tables; they are not part of the step's cost on either side in any meaningful way).
        self.rope = self.rope_tables(seq_len)
        self.masks = {}

    # ---------------------------------------------------------------- layers (lin, ln and attn from peer_common.Layers)
    @staticmethod
    def rms(x, w):
        # Gemma's RMSNorm: weight stored as an offset from 1 (initialised to zero).
        return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + EPS) * (1 + w)

    @staticmethod
    def gelu(x):
        return F.gelu(x, approximate="tanh")  # ours computes the same function as x·σ(2z)

    # ---------------------------------------------------------------- vision tower (SigLIP-style, bidirectional)

    def image_tokens(self, images):
        c = self.c
        v = c["vision"]
        B, S, _, C = images.shape
        p = c["patch"]
        g = S // p
        name = "vision_tower.vision_model"
        pixels = (images - torch.tensor(c["pixelMean"])) / torch.tensor(c["pixelStd"])
        x = pixels.reshape(B, g, p, g, p, C).permute(0, 1, 3, 2, 4, 5).reshape(B, g * g, p * p * C)
        x = self.lin(x, name + ".embeddings.patch_embedding") + self.p[name + ".embeddings.position_embedding.weight"]
        for i in range(v["layers"]):
            n = f"{name}.encoder.layers.{i}"
            x = x + self.attn(self.ln(x, n + ".layer_norm1"), n + ".self_attn", v["heads"])
            x = x + self.lin(self.gelu(self.lin(self.ln(x, n + ".layer_norm2"), n + ".mlp.fc1")), n + ".mlp.fc2")
        h = self.ln(x, name + ".post_layernorm")
        # Average-pool the g×g patch grid to s×s soft tokens (row-major), then RMSNorm and project to the LM width.
        s = round(math.sqrt(c["imageTokens"]))
        f = g // s
        pooled = h.reshape(B, s, f, s, f, v["width"]).mean((2, 4)).reshape(B, c["imageTokens"], v["width"])
        pooled = self.rms(pooled, self.p["multi_modal_projector.mm_soft_emb_norm.weight"])
        return self.lin(pooled, "multi_modal_projector.mm_input_projection", bias=False)

    # ---------------------------------------------------------------- decoder (Gemma 3)
    def rope_tables(self, T):
        # As ropeTables: angles in float64, then float32 tables with the two halves duplicated (rotate-half layout).
        dh = self.c["headDim"]
        half = dh // 2
        inv = np.power(float(self.c["ropeTheta"]), -2.0 * np.arange(half) / dh)
        ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
        cos = np.concatenate([np.cos(ang), np.cos(ang)], 1).astype(np.float32)
        sin = np.concatenate([np.sin(ang), np.sin(ang)], 1).astype(np.float32)
        return torch.from_numpy(cos), torch.from_numpy(sin)

    @staticmethod
    def apply_rope(x, cos, sin):
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin

    def structural_mask(self, T, window):
        # 0 where causal (and within the window on local layers), −1e9 elsewhere; [1, 1, T, T]. The image tokens (the
        # first imageTokens positions) are visible to every query in every layer, as ours (attentionMask's prefix).
        key = (T, window)
        if key not in self.masks:
            q = np.arange(T)[:, None]
            k = np.arange(T)[None, :]
            ok = k <= q
            if window is not None:
                ok = ok & (q - k < window)
            ok = ok | (k < self.c["imageTokens"])
            self.masks[key] = torch.from_numpy(np.where(ok, 0.0, -NEG).astype(np.float32))[None, None]
        return self.masks[key]

    def layer_window(self, i):
        return None if (i + 1) % self.c["globalEvery"] == 0 else self.c["window"]

    def self_attn(self, x, name, key_bias, window):
        c = self.c
        B, T, _ = x.shape
        H, Hk, dh = c["heads"], c["kvHeads"], c["headDim"]
        group = H // Hk
        q = self.lin(x, name + ".q_proj", bias=False).view(B, T, H, dh).transpose(1, 2)
        k = self.lin(x, name + ".k_proj", bias=False).view(B, T, Hk, dh).transpose(1, 2)
        v = self.lin(x, name + ".v_proj", bias=False).view(B, T, Hk, dh).transpose(1, 2)
        q = self.rms(q, self.p[name + ".q_norm.weight"])
        k = self.rms(k, self.p[name + ".k_norm.weight"])
        cos, sin = self.rope[0][:T], self.rope[1][:T]
        q = self.apply_rope(q, cos, sin)
        k = self.apply_rope(k, cos, sin)
        # GQA: query head h uses key/value head ⌊h / group⌋, so the group's query heads stack as rows per KV head.
        s = (q.reshape(B, Hk, group * T, dh) @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        # The same additive mask as ours: structural (−1e9) plus key padding ((m − 1)·1e9), so fully masked rows
        # (padding queries) behave identically too.
        s = s.reshape(B, H, T, T) + (self.structural_mask(T, window) + key_bias)
        a = torch.softmax(s, -1).reshape(B, Hk, group * T, T)
        o = (a @ v).reshape(B, H, T, dh).transpose(1, 2).reshape(B, T, H * dh)
        return self.lin(o, name + ".o_proj", bias=False)

    def decode(self, x, key_mask):
        key_bias = ((key_mask - 1.0) * NEG)[:, None, None, :]
        for i in range(self.c["layers"]):
            n = f"language_model.model.layers.{i}"
            P = lambda s: self.p[f"{n}.{s}.weight"]
            a = self.self_attn(self.rms(x, P("input_layernorm")), n + ".self_attn", key_bias, self.layer_window(i))
            x = x + self.rms(a, P("post_attention_layernorm"))
            h = self.rms(x, P("pre_feedforward_layernorm"))
            m = self.lin(self.gelu(self.lin(h, n + ".mlp.gate_proj", False)) * self.lin(h, n + ".mlp.up_proj", False), n + ".mlp.down_proj", False)
            x = x + self.rms(m, P("post_feedforward_layernorm"))
        return self.rms(x, self.p["language_model.model.norm.weight"])

    def embed(self, ids):
        # Gemma scales token embeddings by √d (image soft tokens are not scaled).
        return self.p["language_model.model.embed_tokens.weight"][ids] * math.sqrt(self.c["width"])

    def log_prob(self, images, prompt_ids, prompt_mask, comp_ids, comp_mask):
        """As Planner.logProb: per-token log-probs of the completion, their sum and their mean over valid tokens."""
        B, C = comp_ids.shape
        N = self.c["imageTokens"]
        # Layout: [image soft tokens][left-padded prompt][completion tokens but the last]; positions 0..T−1 throughout
        # (padding keeps its positions). Position L0−1+j (L0 = N + P) predicts completion token j.
        x = torch.cat([self.image_tokens(images), self.embed(prompt_ids), self.embed(comp_ids[:, : C - 1])], 1)
        key_mask = torch.cat([torch.ones(B, N), prompt_mask, comp_mask[:, : C - 1]], 1)
        L0 = N + prompt_ids.shape[1]
        h = self.decode(x, key_mask)[:, L0 - 1 : L0 - 1 + C]
        logits = h @ self.p["language_model.model.embed_tokens.weight"].t()  # tied output embedding
        logp = torch.log_softmax(logits, -1).gather(-1, comp_ids[:, :, None])[:, :, 0]
        per_token = logp * comp_mask
        total = per_token.sum(1)
        return per_token, total, total / comp_mask.sum(1).clamp(min=1)

    # ---------------------------------------------------------------- losses
    def sft_loss(self, b):
        per_token, _, _ = self.log_prob(b["sft_images"], b["sft_promptIds"], b["sft_promptMask"], b["sft_ids"], b["sft_mask"])
        return -per_token.sum() / b["sft_mask"].sum()

    def simpo_loss(self, b, stats=None):
        # Chosen and rejected in one pass of twice the batch, as the pipeline's one meanLogProb call (TRL's
        # concatenated forward).
        two = lambda k: torch.cat([b[k], b[k]], 0)
        n = b["chosen_ids"].shape[0]
        both = self.log_prob(two("simpo_images"), two("simpo_promptIds"), two("simpo_promptMask"),
                             torch.cat([b["chosen_ids"], b["rejected_ids"]], 0),
                             torch.cat([b["chosen_mask"], b["rejected_mask"]], 0))[2]
        chosen, rejected = both[:n], both[n:]
        if stats is not None:
            # For parity: the loss saturates within a few steps on a fixed batch; the rewards stay O(1).
            stats.append((chosen.mean().item(), rejected.mean().item()))
        s = self.c["simpo"]
        z = (chosen - rejected - s["gammaBetaRatio"]) * s["beta"]
        return F.softplus(-z).mean()


def setup(d, mode):
    cfg, params, batch = load_export(d)
    T = cfg["imageTokens"] + cfg["maxPrompt"] + cfg["maxCompletion"] - 1
    model = Planner(params, cfg, T)
    # Our AdamW decays matrices only (rank ≥ 2), the tied embedding included.
    opt = adamw(params, cfg["optimizer"][mode])
    loss = model.sft_loss if mode == "sft" else model.simpo_loss
    return loss, batch, opt


def main():
    d, mode = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    if mode == "parity":
        steps = int(sys.argv[3])
        torch.set_num_threads(1)
        out = {}
        for which in ("sft", "simpo"):
            loss_fn, batch, opt = setup(d, which)
            if which == "simpo":
                rewards = []
                simpo = loss_fn
                loss_fn = lambda b: simpo(b, rewards)
            out[which] = [step(loss_fn, batch, opt) for _ in range(steps)]
        # Batch means of r(chosen) and r(rejected) (mean per-token log-probs) at each SimPO step's weights.
        out["simpoChosen"] = [c for c, _ in rewards]
        out["simpoRejected"] = [r for _, r in rewards]
        json.dump(out, open(f"{d}/torch-planner-losses.json", "w"))
    elif mode == "time":
        which, steps, threads = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        if which not in ("sft", "simpo"):
            raise SystemExit(f"unknown loss {which!r}: sft or simpo")
        torch.set_num_threads(threads)
        loss_fn, batch, opt = setup(d, which)
        sps = steps_per_second(loss_fn, batch, opt, steps)
        print(json.dumps({"stepsPerSecond": sps, "loss": which, "threads": torch.get_num_threads(), "torch": torch.__version__}))
    else:
        raise SystemExit(f"unknown mode {mode!r}: parity or time")


if __name__ == "__main__":
    main()
