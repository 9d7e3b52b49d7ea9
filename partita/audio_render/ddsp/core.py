"""DDSP building blocks as pure torch functions (Engel et al., 2020).

Shapes: ``B`` batch, ``T`` control frames, ``N`` samples, ``H`` harmonics, ``F`` noise
bands. Frequencies in Hz, sample rates in Hz, ``hop`` in samples per control frame.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def midi_to_hz(pitch: torch.Tensor | float) -> torch.Tensor:
    """MIDI note number (may be fractional) to Hz: 69 → 440."""
    pitch = torch.as_tensor(pitch, dtype=torch.float32)
    return 440.0 * 2 ** ((pitch - 69.0) / 12.0)


def hz_to_midi(hz: torch.Tensor) -> torch.Tensor:
    return 69.0 + 12.0 * torch.log2(torch.clamp(hz, min=1e-5) / 440.0)


def upsample(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """Linear interpolation of control frames to audio rate: (B, T, C) → (B, T*hop, C)."""
    b, t, c = frames.shape
    x = frames.transpose(1, 2)  # (B, C, T)
    x = F.interpolate(x, size=t * hop, mode="linear", align_corners=False)
    return x.transpose(1, 2)


def harmonic_synth(f0: torch.Tensor, amplitudes: torch.Tensor, sample_rate: int, hop: int) -> torch.Tensor:
    """Additive synthesis of harmonics of ``f0``.

    Args:
        f0: (B, T) fundamental per frame, Hz (0 = silent).
        amplitudes: (B, T, H) linear amplitude of each harmonic per frame.
        sample_rate: Hz.
        hop: samples per frame.

    Returns:
        (B, T*hop) audio. Harmonics at or above Nyquist are silenced.
    """
    h = amplitudes.shape[-1]
    lowest = float(f0[f0 > 0].min()) if (f0 > 0).any() else 1.0
    h = max(1, min(h, int(sample_rate / 2 // lowest)))  # partials above Nyquist everywhere are skipped
    amplitudes = amplitudes[..., :h]
    harmonics = torch.arange(1, h + 1, dtype=f0.dtype, device=f0.device)  # (H,)
    freqs = f0[..., None] * harmonics  # (B, T, H)
    amps = amplitudes * (freqs < sample_rate / 2).to(amplitudes.dtype)
    f0_up = upsample(f0[..., None], hop)[..., 0]  # (B, N)
    amps_up = upsample(amps, hop)  # (B, N, H)
    phase = 2 * math.pi * torch.cumsum(f0_up / sample_rate, dim=1)  # (B, N)
    phase = torch.remainder(phase, 2 * math.pi)
    # (B, N, H): sin(k * phase) for each harmonic k
    return (torch.sin(phase[..., None] * harmonics) * amps_up).sum(-1)


def filtered_noise(magnitudes: torch.Tensor, hop: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """White noise shaped per frame by a linear-phase FIR filter from band magnitudes.

    Args:
        magnitudes: (B, T, F) filter magnitudes of F bands from 0 Hz to Nyquist.
        hop: samples per frame; each frame of noise is ``hop`` samples long.

    Returns:
        (B, T*hop) audio.
    """
    b, t, f = magnitudes.shape
    ir = torch.fft.irfft(torch.complex(magnitudes, torch.zeros_like(magnitudes)), dim=-1)  # (B, T, 2F-2)
    n_ir = ir.shape[-1]
    ir = torch.roll(ir, n_ir // 2, dims=-1) * torch.hann_window(n_ir, dtype=ir.dtype, device=ir.device)
    noise = torch.rand(b, t, hop, generator=generator, dtype=magnitudes.dtype, device=magnitudes.device) * 2 - 1
    size = hop + n_ir - 1
    spec = torch.fft.rfft(noise, n=size) * torch.fft.rfft(ir, n=size)
    frames = torch.fft.irfft(spec, n=size)  # (B, T, hop + n_ir - 1)
    frames = frames[..., n_ir // 2: n_ir // 2 + hop]  # undo the linear-phase delay
    return frames.reshape(b, t * hop)


def fft_convolve(audio: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """Convolve (B, N) audio with an impulse response (L,) or (B, L); output cut to N samples."""
    n = audio.shape[-1]
    size = 1 << (n + ir.shape[-1] - 2).bit_length()  # a power of two: FFTs of odd sizes are slow
    out = torch.fft.irfft(torch.fft.rfft(audio, n=size) * torch.fft.rfft(ir, n=size), n=size)
    return out[..., :n]


def stft_magnitude(audio: torch.Tensor, n_fft: int) -> torch.Tensor:
    """|STFT| with a Hann window and 75% overlap: (B, N) → (B, n_fft//2+1, frames)."""
    window = torch.hann_window(n_fft, dtype=audio.dtype, device=audio.device)
    spec = torch.stft(audio, n_fft, hop_length=n_fft // 4, window=window, center=True, return_complex=True)
    return spec.abs()


FFT_SIZES = (2048, 1024, 512, 256, 128, 64)


def multiscale_spectral_loss(x: torch.Tensor, y: torch.Tensor, fft_sizes: tuple[int, ...] = FFT_SIZES,
                             log_weight: float = 1.0) -> torch.Tensor:
    """DDSP's multi-scale spectral distance: sum over FFT sizes of the mean L1 distance of
    linear magnitudes plus ``log_weight`` times the mean L1 distance of log magnitudes."""
    total = x.new_zeros(())
    for n in fft_sizes:
        mx, my = stft_magnitude(x, n), stft_magnitude(y, n)
        total = total + (mx - my).abs().mean()
        total = total + log_weight * (torch.log(mx + 1e-7) - torch.log(my + 1e-7)).abs().mean()
    return total


def a_weighted_loudness(audio: torch.Tensor, sample_rate: int, hop: int, n_fft: int = 1024) -> torch.Tensor:
    """Per-frame A-weighted loudness in dB (B, N) → (B, N // hop), as DDSP computes it."""
    window = torch.hann_window(n_fft, dtype=audio.dtype, device=audio.device)
    spec = torch.stft(audio, n_fft, hop_length=hop, window=window, center=True, return_complex=True).abs()
    freqs = torch.linspace(0, sample_rate / 2, spec.shape[1], dtype=audio.dtype, device=audio.device)
    f2 = freqs**2
    ra = (12194.0**2 * f2**2) / ((f2 + 20.6**2) * torch.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2))
    a_db = 20 * torch.log10(torch.clamp(ra, min=1e-10)) + 2.0
    power_db = 20 * torch.log10(torch.clamp(spec, min=1e-5)) + a_db[None, :, None]
    loud = 10 * torch.log10(torch.clamp(torch.mean(10 ** (power_db / 10), dim=1), min=1e-10))
    return loud[..., : audio.shape[-1] // hop]
