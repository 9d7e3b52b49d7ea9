"""The DDSP performer's modules and their config (decoder, harmonic-plus-noise synth,
reverb), and its checkpoints: ``model.safetensors``, ``config.json`` (the family, the
instrument and its General MIDI program, the model config) and the training card."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from partita.audio_render.ddsp.core import fft_convolve, filtered_noise, harmonic_synth
from partita.errors import PartitaError

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass
class DDSPConfig:
    """Sizes of a DDSP performer.

    Attributes:
        sample_rate: audio rate, Hz.
        hop: samples per control frame (16000 / 128 = 125 frames per second).
        n_harmonics: additive partials.
        n_noise_bands: filter bands of the noise from 0 Hz to Nyquist.
        hidden: width of the decoder's MLPs and GRU.
        reverb_seconds: length of the learned impulse response.
        n_inputs: decoder input features (see controls.features).
    """

    sample_rate: int = 16000
    hop: int = 128
    n_harmonics: int = 60
    n_noise_bands: int = 65
    hidden: int = 128
    reverb_seconds: float = 0.5
    n_inputs: int = 4

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    def to_dict(self) -> dict:
        return asdict(self)


def _mlp(n_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(),
                         nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.LeakyReLU())


def scaled_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """DDSP's exp-sigmoid: a positive output with a wide dynamic range."""
    return 2.0 * torch.sigmoid(x) ** 2.3026 + 1e-7


class Decoder(nn.Module):
    """Control features (B, T, n_inputs) → overall amplitude, harmonic distribution, noise bands."""

    def __init__(self, n_inputs: int, hidden: int, n_harmonics: int, n_noise_bands: int):
        super().__init__()
        self.n_harmonics = n_harmonics
        self.inp = _mlp(n_inputs, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out_mlp = _mlp(hidden + n_inputs, hidden)
        self.proj = nn.Linear(hidden, 1 + n_harmonics + n_noise_bands)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, _ = self.gru(self.inp(x))  # (B, T, hidden)
        out = self.proj(self.out_mlp(torch.cat([h, x], dim=-1)))  # (B, T, 1+H+F)
        amp = scaled_sigmoid(out[..., :1])
        dist = torch.softmax(out[..., 1:1 + self.n_harmonics], dim=-1)
        noise = scaled_sigmoid(out[..., 1 + self.n_harmonics:] - 5.0)
        return amp * dist, noise


class Reverb(nn.Module):
    """A learned impulse response (dry path kept: the first tap is forced to zero)."""

    def __init__(self, n_taps: int):
        super().__init__()
        decay = torch.exp(-torch.linspace(0, 8, n_taps))
        self.ir = nn.Parameter(torch.randn(n_taps) * 1e-3 * decay)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        ir = torch.cat([self.ir.new_zeros(1), self.ir[1:]])
        return audio + fft_convolve(audio, ir)


class DDSPPerformer(nn.Module):
    """Decoder + harmonic synth + filtered noise + reverb for one instrument."""

    def __init__(self, config: DDSPConfig):
        super().__init__()
        self.config = config
        self.decoder = Decoder(config.n_inputs, config.hidden, config.n_harmonics, config.n_noise_bands)
        self.reverb = Reverb(int(config.reverb_seconds * config.sample_rate))

    def forward(self, features: torch.Tensor, f0_hz: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """features (B, T, n_inputs), f0 (B, T) Hz → audio (B, T * hop)."""
        harmonics, noise = self.decoder(features)
        audio = harmonic_synth(f0_hz, harmonics, self.config.sample_rate, self.config.hop)
        audio = audio + filtered_noise(noise, self.config.hop, generator)
        return self.reverb(audio)


def save(model: DDSPPerformer, folder: str | Path, instrument: str, card: dict) -> None:
    """Write model.safetensors, config.json and the training card (training.json) into ``folder``."""
    from safetensors.torch import save_file

    from partita.audio_render.ddsp.data import INSTRUMENTS
    from partita.fileio import atomic_path
    from partita.training import commit_record

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / MODEL_FILE) as tmp:
        save_file(state, str(tmp))
    config = {"family": "ddsp", "instrument": instrument, "program": INSTRUMENTS[instrument][0],
              "model": model.config.to_dict(), "controls": "partita.audio_render.ddsp.controls.features v1",
              "torch": torch.__version__}
    commit_record(folder, card, {CONFIG_FILE: config})


def checkpoint_info(folder: str | Path) -> dict:
    """The checkpoint's config.json: ``family`` ("ddsp"), ``instrument``, ``program`` (General
    MIDI), ``model`` (the :class:`DDSPConfig` fields), ``controls``, ``torch``.

    Raises:
        PartitaError: ``folder`` holds no DDSP checkpoint.
    """
    folder = Path(folder)
    cfg_path = folder / CONFIG_FILE
    if not cfg_path.exists() or not (folder / MODEL_FILE).exists():
        raise PartitaError(f"{folder}: not a DDSP checkpoint (config.json and model.safetensors needed)")
    info = json.loads(cfg_path.read_text())
    if info.get("family") != "ddsp":
        raise PartitaError(f"{folder}: checkpoint family is {info.get('family')!r}, not 'ddsp'")
    return info


def load(folder: str | Path) -> tuple[DDSPPerformer, DDSPConfig]:
    """``(model, config)`` of a DDSP checkpoint folder, the model in eval mode (the
    instrument and program: :func:`checkpoint_info`).

    Raises:
        PartitaError: ``folder`` holds no DDSP checkpoint.
    """
    from safetensors.torch import load_file

    config = DDSPConfig(**checkpoint_info(folder)["model"])
    model = DDSPPerformer(config)
    model.load_state_dict(load_file(str(Path(folder) / MODEL_FILE)))
    model.eval()
    return model, config
