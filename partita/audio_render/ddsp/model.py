"""The DDSP performer's modules and their config: decoder, harmonic-plus-noise synth, reverb."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from partita.audio_render.ddsp.core import fft_convolve, filtered_noise, harmonic_synth


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
