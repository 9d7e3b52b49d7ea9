"""GPT-2 in plain torch: the decoder the AMT, FIGARO and ABC families are built on.

The same network, parameter names and checkpoint files (``config.json`` +
``model.safetensors``) as Hugging Face's ``GPT2Model`` / ``GPT2LMHeadModel``, so the
checkpoints trained with ``transformers`` load unchanged and a released GPT-2 AMT checkpoint
still opens. What it leaves out is what partita never used (cross-attention, heads other than
the LM head, generation utilities), and with it the ``transformers`` import: 1.5-3 s of every
CLI run on this machine (its import chain pulls in ``torch.distributed`` and ``torch._dynamo``).
Attention is torch's fused ``scaled_dot_product_attention``; the KV cache is a list of (key,
value) tensors per layer.

Checked against ``transformers`` in tests/test_gpt2.py: the same logits from the
same weights (with and without a cache, padding and ``inputs_embeds``) and the same loss.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from partita.errors import PartitaError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
IGNORED_KEYS = (".attn.bias", ".attn.masked_bias")
"""Buffers older GPT-2 checkpoints stored beside the weights (causal masks): not weights."""


@dataclass
class GPT2Config:
    """GPT-2's hyper-parameters, under the names of its ``config.json``."""

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    tie_word_embeddings: bool = True
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GPT2Config:
        """A config from a ``config.json`` dict; keys GPT-2 does not need are kept in ``extra``."""
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in values.items() if k in names}
        if values.get("reorder_and_upcast_attn") or values.get("add_cross_attention"):
            raise PartitaError("this GPT-2 checkpoint uses cross-attention or upcast attention, which partita does not run")
        return cls(**known, extra={k: v for k, v in values.items() if k not in names and k != "extra"})

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**self.extra, **out, "model_type": "gpt2"}


class Conv1D(nn.Module):
    """GPT-2's linear layer, its weight stored (in, out)."""

    def __init__(self, n_out: int, n_in: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.n_out = n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (*x.shape[:-1], self.n_out)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


def activation(name: str):  # noqa: ANN201 - a tensor function
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu
    if name == "relu":
        return F.relu
    raise PartitaError(f"GPT-2 activation {name!r}: partita runs gelu_new, gelu_pytorch_tanh, gelu or relu")


class Attention(nn.Module):
    def __init__(self, config: GPT2Config, layer: int):
        super().__init__()
        d = config.n_embd
        self.heads, self.head_dim = config.n_head, d // config.n_head
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)
        self.scaling = self.head_dim ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            self.scaling /= float(layer + 1)
        self.attn_pdrop = config.attn_pdrop
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        causal = mask is None and t > 1 and past is None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=self.scaling,
                                           dropout_p=self.attn_pdrop if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, t, d)
        return self.resid_dropout(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = Conv1D(inner, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, inner)
        self.act = activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPT2Config, layer: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = Attention(config, layer)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attn(self.ln_1(x), past, mask)
        x = x + a
        return x + self.mlp(self.ln_2(x)), kv


@dataclass
class Output:
    """What a forward pass gives: ``logits`` (LM head only), ``last_hidden_state``, the KV
    cache (``past_key_values``: one (key, value) a layer, when ``use_cache``) and ``loss``
    (when ``labels`` are given)."""

    last_hidden_state: torch.Tensor
    past_key_values: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None


def _attention_mask(attention_mask: torch.Tensor | None, t: int, past: int) -> torch.Tensor | None:
    """The boolean (B or 1, 1, t, past + t) mask of what each new position may attend to, or
    None where the plain causal mask (or none, for one new position) is enough."""
    if attention_mask is None and (past == 0 or t == 1):
        return None
    keys = past + t
    allowed = torch.ones(t, keys, dtype=torch.bool).tril(diagonal=past)[None, None]
    if attention_mask is not None:
        allowed = allowed & attention_mask[:, None, None, -keys:].bool()
    return allowed


class GPT2Model(nn.Module):
    """The GPT-2 body: token and position embeddings, blocks, final layer norm."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        init_weights(self, config)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.wte

    def forward(self, input_ids: torch.Tensor | None = None, *, inputs_embeds: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, past_key_values: list | None = None,
                cache: list | None = None, use_cache: bool = False) -> Output:
        past = past_key_values if past_key_values is not None else cache
        x = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        seen = 0 if not past else past[0][0].shape[2]
        t = x.shape[1]
        if seen + t > self.config.n_positions:
            raise PartitaError(f"{seen + t} positions: this GPT-2 has {self.config.n_positions}")
        x = self.drop(x + self.wpe(torch.arange(seen, seen + t)))
        mask = _attention_mask(attention_mask, t, seen)
        new = []
        for i, block in enumerate(self.h):
            x, kv = block(x, past[i] if past else None, mask)
            new.append(kv)
        return Output(self.ln_f(x), new if use_cache else None)


class GPT2LMHeadModel(nn.Module):
    """The GPT-2 body and its language-model head (tied to the token embeddings)."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.transformer.wte.weight
        else:
            nn.init.normal_(self.lm_head.weight, std=config.initializer_range)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.transformer.wte

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def forward(self, input_ids: torch.Tensor | None = None, *, labels: torch.Tensor | None = None,
                **kwargs: Any) -> Output:
        out = self.transformer(input_ids, **kwargs)
        out.logits = self.lm_head(out.last_hidden_state)
        if labels is not None:   # next-token loss, -100 ignored (as transformers computes it)
            shifted = out.logits[:, :-1].float()
            out.loss = F.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), labels[:, 1:].reshape(-1),
                                       ignore_index=-100)
        return out

    def save_pretrained(self, folder: str | Path, safe_serialization: bool = True) -> None:
        """``config.json`` and ``model.safetensors`` as transformers writes them (the tied
        head stored once, under the embeddings' name)."""
        from safetensors.torch import save_file

        from partita.fileio import atomic_path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()
                 if not (self.config.tie_word_embeddings and k == "lm_head.weight")}
        dtype = str(next(iter(state.values())).dtype).removeprefix("torch.")
        config = {**self.config.to_dict(), "architectures": ["GPT2LMHeadModel"], "dtype": dtype}
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_file(state, str(tmp), metadata={"format": "pt"})
        with atomic_path(folder / CONFIG_FILE) as tmp:
            Path(tmp).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, dtype: torch.dtype = torch.float32) -> GPT2LMHeadModel:
        """The model saved in ``folder`` (``config.json`` + ``model.safetensors``), in
        ``dtype`` and eval mode. Never the network.

        Raises:
            PartitaError: no config or weights there, or weights that do not fit the config.
        """
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / CONFIG_FILE).exists() or not (folder / WEIGHTS_FILE).exists():
            raise PartitaError(f"{folder}: no GPT-2 checkpoint here ({CONFIG_FILE} and {WEIGHTS_FILE})")
        config = GPT2Config.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
        with torch.device("meta"):
            model = cls(config)
        state = {k.removeprefix("model."): v for k, v in load_file(str(folder / WEIGHTS_FILE)).items()
                 if not k.endswith(IGNORED_KEYS)}
        if not any(k.startswith("transformer.") for k in state):   # a body saved alone
            state = {f"transformer.{k}": v for k, v in state.items()}
        if config.tie_word_embeddings:
            state.pop("lm_head.weight", None)
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        missing = [m for m in missing if not (config.tie_word_embeddings and m == "lm_head.weight")]
        if missing or unexpected:
            raise PartitaError(f"{folder}: weights do not fit the config ({len(missing)} missing, "
                               f"{len(unexpected)} unexpected, e.g. {(missing or unexpected)[0]})")
        if config.tie_word_embeddings:
            model.lm_head.weight = model.transformer.wte.weight
        return model.to(dtype).eval()


def init_weights(model: nn.Module, config: GPT2Config) -> None:
    """GPT-2's initialisation: normal(0, 0.02) weights, zero biases, unit layer norms, the
    residual projections scaled by 1/sqrt(2 * layers)."""
    if next(model.parameters()).is_meta:
        return
    std = config.initializer_range
    for name, p in model.named_parameters():
        if p.dim() == 1:   # layer norms' gains are ones, every bias zeros
            nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
        elif name.endswith("c_proj.weight"):
            nn.init.normal_(p, std=std / math.sqrt(2 * config.n_layer))
        else:
            nn.init.normal_(p, std=std)
