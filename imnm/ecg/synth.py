"""Synthetic 12-lead ECGs for demo data, from a moving cardiac dipole.

Each beat is a sum of Gaussian waves (P, Q, R, S and a two-part T) in time, each with its own
3-D dipole vector (Frank axes: X to the left, Y to the feet, Z to the back). The dipole is
projected onto leads I, II and V1-V6 with Dower's coefficients; III, aVR, aVL and aVF are then
computed from I and II, so the limb leads obey Einthoven's and Goldberger's laws exactly before
rounding. Beats are placed at jittered RR intervals by FFT convolution of the beat template
with an impulse train; baseline wander (< 0.5 Hz), 50 or 60 Hz mains hum and white noise are
added per lead.

`lv_impairment` (0 = normal left ventricle, 1 = severe dysfunction) shifts the morphology the
way AI-ECG studies of LV systolic dysfunction describe it: lower QRS voltage, wider QRS,
flattened or inverted lateral T waves, longer QT, faster resting rate and a leftward axis.
Random per-ECG variation is large enough that the classes overlap: no single feature
separates them perfectly.

Determinism: the output is a function of the generator's state, `lv_impairment` and
`batch_size` only. Each batch draws one seed from `rng`, so the first k ECGs do not change when
more are requested with the same seed and batch size.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
import scipy.fft

from imnm.ecg.contract import N_LEADS, N_SAMPLES, SAMPLING_HZ, STORAGE_DTYPE

DEFAULT_BATCH_SIZE = 64
INT16_LIMIT = 32767

# Dower's transform, VCG (X, Y, Z in Frank's orientation) -> leads I, II, V1..V6.
DOWER = np.array(
    [
        [0.632, -0.235, 0.059],  # I
        [0.235, 1.066, -0.132],  # II
        [-0.515, 0.157, -0.917],  # V1
        [0.044, 0.164, -1.387],  # V2
        [0.882, 0.098, -1.277],  # V3
        [1.213, 0.127, -0.601],  # V4
        [1.125, 0.127, -0.086],  # V5
        [0.831, 0.076, 0.230],  # V6
    ]
)
_N_INDEPENDENT = DOWER.shape[0]

# Beat template window around the R peak, in seconds.
_PRE_S = 0.32
_POST_S = 0.78
_PRE = round(_PRE_S * SAMPLING_HZ)
_WIDTH = _PRE + round(_POST_S * SAMPLING_HZ)
_NFFT = scipy.fft.next_fast_len(N_SAMPLES + 2 * _WIDTH, real=True)
_WANDER_MAX_HZ = 0.5
_HEART_RATE_BPM = (50.0, 110.0)
# Enough beats to cover the window plus a template on each side at the fastest rate, with jitter.
_N_BEATS = int(np.ceil((N_SAMPLES + _WIDTH) / SAMPLING_HZ / (0.85 * 60.0 / _HEART_RATE_BPM[1]))) + 2


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _rotate_about_y(vectors: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (n, k, 3) vectors by per-ECG angles (n,) in the horizontal (X-Z) plane."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.stack([cos * x + sin * z, y, -sin * x + cos * z], axis=-1)


def _wave_parameters(
    lv: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-ECG RR interval and per-wave centre (s), width (s) and dipole vector (mV)."""
    n = lv.shape[0]

    def normal(scale: float, size: tuple[int, ...] = (n,)) -> np.ndarray:
        return rng.normal(0.0, scale, size)

    heart_rate = np.clip(68.0 + 16.0 * lv + normal(10.0), *_HEART_RATE_BPM)
    rr = 60.0 / heart_rate
    qrs_width = (1.0 + 0.30 * lv) * np.exp(normal(0.10))
    t_peak = (0.255 + 0.04 * lv) * np.cbrt(rr) * np.exp(normal(0.05))
    t_sigma = 0.048 * (1.0 + 0.15 * lv) * np.exp(normal(0.12))
    p_offset = -(0.155 + normal(0.015))

    centres = np.stack(
        [
            p_offset,
            -0.021 * qrs_width,
            np.zeros(n),
            0.022 * qrs_width,
            t_peak - 0.9 * t_sigma,
            t_peak,
        ],
        axis=1,
    )
    sigmas = np.stack(
        [
            0.021 * np.exp(normal(0.10)),
            0.0085 * qrs_width,
            0.0105 * qrs_width,
            0.0100 * qrs_width,
            1.4 * t_sigma,
            t_sigma,
        ],
        axis=1,
    )

    axis = np.deg2rad(30.0 - 35.0 * lv + normal(22.0))
    r_dir = np.stack([np.cos(axis), np.sin(axis), 0.30 + normal(0.15)], axis=1)
    p_dir = np.array([0.50, 0.85, -0.15]) + normal(0.10, (n, 3))
    q_dir = np.array([-0.55, -0.25, -0.80]) + normal(0.15, (n, 3))
    s_dir = np.array([-0.45, -0.35, 0.80]) + normal(0.15, (n, 3))
    # The T vector swings away from the lateral leads as the left ventricle fails.
    t_dir = np.stack(
        [
            0.80 - 1.10 * lv + normal(0.38),
            0.55 + normal(0.20),
            -0.35 + 0.45 * lv + normal(0.20),
        ],
        axis=1,
    )

    voltage = (1.0 - 0.30 * lv) * np.exp(normal(0.22))
    amplitudes = np.stack(
        [
            0.12 * np.exp(normal(0.25)),
            0.12 * voltage * np.exp(normal(0.30)),
            1.30 * voltage * np.exp(normal(0.15)),
            0.45 * voltage * np.exp(normal(0.30)),
            0.35 * 0.30 * (1.0 - 0.30 * lv) * np.exp(normal(0.30)),
            0.30 * (1.0 - 0.30 * lv) * np.exp(normal(0.30)),
        ],
        axis=1,
    )
    directions = _unit(np.stack([p_dir, q_dir, r_dir, s_dir, t_dir, t_dir], axis=1))
    vectors = _rotate_about_y(directions * amplitudes[..., None], np.deg2rad(normal(12.0)))
    return rr, centres, sigmas, vectors


def _beat_templates(centres: np.ndarray, sigmas: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """One beat's dipole (n, 3, width) in microvolts, R peak at sample `_PRE`."""
    t = (np.arange(_WIDTH) - _PRE) / SAMPLING_HZ
    shapes = np.exp(-0.5 * ((t - centres[..., None]) / sigmas[..., None]) ** 2)
    return 1000.0 * np.matmul(vectors.transpose(0, 2, 1), shapes)


def _impulse_train(rr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Beat onsets as weighted impulses on the FFT grid (n, _NFFT), with HRV and breathing."""
    n, n_beats = rr.shape[0], _N_BEATS
    breathing_hz = rng.uniform(0.15, 0.35, (n, 1))
    breathing_phase = rng.uniform(0.0, 2.0 * np.pi, (n, 1))
    jitter = rng.normal(0.0, 0.02, (n, n_beats))
    first = -_POST_S - rng.uniform(0.0, 1.0, (n, 1)) * rr[:, None]
    nominal = first + rr[:, None] * np.arange(n_beats)
    breath = np.sin(2.0 * np.pi * breathing_hz * nominal + breathing_phase)
    intervals = rr[:, None] * (1.0 + jitter + 0.03 * breath)
    r_times = first + np.concatenate([np.zeros((n, 1)), np.cumsum(intervals[:, :-1], axis=1)], 1)
    starts = np.rint(r_times * SAMPLING_HZ).astype(np.int64) - _PRE + _WIDTH
    weights = 1.0 + 0.05 * breath
    keep = (starts > 0) & (starts < N_SAMPLES + _WIDTH)
    train = np.zeros((n, _NFFT))
    rows = np.broadcast_to(np.arange(n)[:, None], starts.shape)
    train[rows[keep], starts[keep]] = weights[keep]
    return train


_WANDER_BINS = int(_WANDER_MAX_HZ * _NFFT / SAMPLING_HZ)
_MAINS_HZ = (50, 60)


@cache
def _slow_basis() -> np.ndarray:
    """Sine/cosine rows (read-only): wander bins k * fs / NFFT < 0.5 Hz, then mains."""
    t = np.arange(N_SAMPLES) / SAMPLING_HZ
    frequencies = [k * SAMPLING_HZ / _NFFT for k in range(1, _WANDER_BINS + 1)] + list(_MAINS_HZ)
    rows = []
    for frequency in frequencies:
        rows += [np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t)]
    basis = np.array(rows)
    basis.setflags(write=False)
    return basis


def _slow_coefficients(n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-lead weights on `_slow_basis`: (n, 8, rows) for baseline wander and mains hum."""
    shape = (n, _N_INDEPENDENT)
    wander_scale = rng.uniform(10.0, 120.0, (n, 1, 1))
    wander = wander_scale * rng.rayleigh(0.5, (*shape, _WANDER_BINS))
    wander_phase = rng.uniform(0.0, 2.0 * np.pi, (*shape, _WANDER_BINS))
    hum = rng.exponential(8.0, (n, 1)) * rng.uniform(0.2, 1.0, shape)
    hum_phase = rng.uniform(0.0, 2.0 * np.pi, shape)
    sixty = rng.random(n) < 0.5  # one mains frequency per ECG
    coefficients = np.zeros((*shape, 2 * (_WANDER_BINS + len(_MAINS_HZ))))
    coefficients[..., 0 : 2 * _WANDER_BINS : 2] = wander * np.cos(wander_phase)
    coefficients[..., 1 : 2 * _WANDER_BINS : 2] = wander * np.sin(wander_phase)
    column = 2 * _WANDER_BINS + 2 * sixty[:, None].astype(int)  # 50 Hz rows, or the 60 Hz rows
    rows, leads = np.arange(n)[:, None], np.arange(_N_INDEPENDENT)[None, :]
    coefficients[rows, leads, column] = hum * np.cos(hum_phase)
    coefficients[rows, leads, column + 1] = hum * np.sin(hum_phase)
    return coefficients


def _add_white_noise(leads: np.ndarray, rng: np.random.Generator) -> None:
    """Add white noise in place: triangular (sum of two uniforms), far cheaper than Gaussian."""
    shape = leads.shape
    noise_sd = rng.uniform(4.0, 20.0, (shape[0], 1, 1)).astype(np.float32)
    noise = rng.random(shape, dtype=np.float32)
    noise += rng.random(shape, dtype=np.float32)
    noise -= 1.0
    noise *= noise_sd * np.float32(np.sqrt(6.0))  # triangular on [-1, 1] has variance 1/6
    leads += noise


def _independent_leads(lv: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Leads I, II, V1-V6 for one batch: (n, 8, 5000) float32 microvolts, noise included."""
    rr, centres, sigmas, vectors = _wave_parameters(lv, rng)
    templates = _beat_templates(centres, sigmas, vectors)
    train = _impulse_train(rr, rng)
    spectrum = scipy.fft.rfft(templates, n=_NFFT, axis=-1) * scipy.fft.rfft(train, axis=-1)[:, None]
    dipole = scipy.fft.irfft(spectrum, n=_NFFT, axis=-1)[..., _WIDTH : _WIDTH + N_SAMPLES]
    # In float64, cast once: float32 BLAS kernels differ between CPUs in their last bits, and
    # the written files (and so the ECGs' content ids) must be the same on every machine.
    leads = np.matmul(DOWER, dipole)
    leads += np.matmul(_slow_coefficients(lv.shape[0], rng), _slow_basis())
    leads = leads.astype(np.float32)
    _add_white_noise(leads, rng)
    return leads


def _with_limb_leads(independent: np.ndarray) -> np.ndarray:
    """(n, 8, L) leads I, II, V1-V6 -> (n, 12, L) in contract order, limb leads from I and II."""
    n = independent.shape[0]
    out = np.empty((n, N_LEADS, independent.shape[2]), dtype=independent.dtype)
    lead_i, lead_ii = independent[:, 0], independent[:, 1]
    out[:, 0] = lead_i
    out[:, 1] = lead_ii
    np.subtract(lead_ii, lead_i, out=out[:, 2])  # III = II - I
    np.add(lead_i, lead_ii, out=out[:, 3])
    out[:, 3] *= -0.5  # aVR = -(I + II) / 2
    np.subtract(lead_i, lead_ii / 2, out=out[:, 4])  # aVL = I - II / 2
    np.subtract(lead_ii, lead_i / 2, out=out[:, 5])  # aVF = II - I / 2
    out[:, 6:] = independent[:, 2:]
    return out


def synthesize_float_ecgs(lv_impairment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One batch of synthetic ECGs before rounding: (n, 12, 5000) float32 microvolts.

    Exposed so that exact lead relations (III = II - I, ...) can be checked before int16 rounding.
    """
    lv = np.clip(np.asarray(lv_impairment, dtype=np.float64).reshape(-1), 0.0, 1.0)
    if lv.shape[0] == 0:
        return np.zeros((0, N_LEADS, N_SAMPLES), dtype=np.float32)
    return _with_limb_leads(_independent_leads(lv, rng))


def _to_int16(signal: np.ndarray) -> np.ndarray:
    np.rint(signal, out=signal)
    np.clip(signal, -INT16_LIMIT, INT16_LIMIT, out=signal)
    return signal.astype(STORAGE_DTYPE)


def synthesize_ecg_batches(
    lv_impairment: np.ndarray,
    rng: np.random.Generator,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[np.ndarray]:
    """Yield synthetic ECGs in batches of (<= batch_size, 12, 5000) int16 uV; bounded memory.

    Each batch uses its own generator seeded from one draw of `rng`, so earlier batches do not
    depend on how many ECGs are requested.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    lv = np.asarray(lv_impairment, dtype=np.float64).reshape(-1)
    if lv.size and (not np.all(np.isfinite(lv)) or lv.min() < 0.0 or lv.max() > 1.0):
        raise ValueError("lv_impairment must be finite and within [0, 1]")
    for start in range(0, lv.shape[0], batch_size):
        batch_rng = np.random.default_rng(int(rng.integers(0, 2**63 - 1)))
        yield _to_int16(synthesize_float_ecgs(lv[start : start + batch_size], batch_rng))


def synthesize_ecgs(lv_impairment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Synthetic contract ECGs, (n, 12, 5000) int16 microvolts at 500 Hz, one per latent score.

    The same generator state and scores always give the same array.
    """
    lv = np.asarray(lv_impairment, dtype=np.float64).reshape(-1)
    out = np.empty((lv.shape[0], N_LEADS, N_SAMPLES), dtype=STORAGE_DTYPE)
    position = 0
    for batch in synthesize_ecg_batches(lv, rng, DEFAULT_BATCH_SIZE):
        out[position : position + batch.shape[0]] = batch
        position += batch.shape[0]
    return out
