"""The one preprocessing step between stored waveforms and the AI-ECG network.

Training and scoring both call `preprocess_batch`, so a model only ever sees input prepared
exactly as it was during training. Every step is fixed (no statistics fitted to a record or a
batch), so one ECG's model input does not depend on which other ECGs share its batch.

Steps, in order:

1. microvolts (contract storage unit) to millivolts;
2. zero-phase Butterworth filters along time:
   - a high-pass at `HIGHPASS_HZ` removes baseline wander (respiration, electrode drift);
   - a steep low-pass at `LOWPASS_HZ` suppresses mains interference. A low-pass is used rather
     than 50/60 Hz notches because the platform is multicentre: one filter removes both mains
     frequencies, their harmonics and most muscle (EMG) noise whatever the site's grid, and
     the network max-pools time heavily before its dense head, so the band above the low-pass
     edge carries little that it can use. The cost is some loss of QRS high-frequency detail;
3. clip to +/- `CLIP_MV` so a saturated lead or pacing artefact cannot dominate the input;
4. a fixed scale: one model input unit is one millivolt (ECG deflections are then of order 1);
5. transpose to time-major, channels-last float32: (n, `N_SAMPLES`, `N_LEADS`).

Filtering runs in float32, the model's own precision: it is four times faster than float64 and
differs from it by under 0.001 mV (tests/test_model_preprocess_real_ecg.py).
`sosfiltfilt` runs the filters forwards and backwards: the attenuation is squared (about -6 dB
at the corner frequencies) and no phase shift moves waves in time. The low-pass order is high
because 50 Hz lies close above the corner. Each record is extended by `EDGE_PAD_SECONDS` of odd
reflection at both ends before filtering, so the slow high-pass largely settles before the recording
starts instead of leaving a baseline transient in its first and last second.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from scipy.signal import butter, sosfiltfilt

from imnm.ecg.contract import (
    N_LEADS,
    N_SAMPLES,
    SAMPLING_HZ,
    STORAGE_DTYPE,
    WaveformContractError,
)

PREPROCESSING_VERSION: Final[str] = "hp0.5hz-o2_lp40hz-o8_zerophase_clip10mv_f32_v2"
MICROVOLTS_PER_MILLIVOLT: Final[float] = 1000.0
HIGHPASS_HZ: Final[float] = 0.5
HIGHPASS_ORDER: Final[int] = 2
LOWPASS_HZ: Final[float] = 40.0
LOWPASS_ORDER: Final[int] = 8
EDGE_PAD_SECONDS: Final[float] = 1.0
CLIP_MV: Final[float] = 10.0
MILLIVOLTS_PER_INPUT_UNIT: Final[float] = 1.0
MODEL_INPUT_DTYPE: Final[type[np.float32]] = np.float32

FILTER_SOS: Final[np.ndarray] = np.vstack(
    [
        butter(HIGHPASS_ORDER, HIGHPASS_HZ, btype="highpass", fs=SAMPLING_HZ, output="sos"),
        butter(LOWPASS_ORDER, LOWPASS_HZ, btype="lowpass", fs=SAMPLING_HZ, output="sos"),
    ]
).astype(MODEL_INPUT_DTYPE)
_EDGE_PAD_SAMPLES: Final[int] = round(EDGE_PAD_SECONDS * SAMPLING_HZ)


def preprocess_batch(waveforms_uv: np.ndarray) -> np.ndarray:
    """Turn contract waveforms (n, 12, 5000) int16 uV into model input (n, 5000, 12) float32.

    Pure and row-independent: each ECG is filtered on its own, so results do not depend on
    batch size or composition.
    """
    _check_batch(waveforms_uv)
    signal_mv = waveforms_uv.astype(MODEL_INPUT_DTYPE)
    signal_mv /= MODEL_INPUT_DTYPE(MICROVOLTS_PER_MILLIVOLT)
    if signal_mv.shape[0] > 0:
        signal_mv = sosfiltfilt(FILTER_SOS, signal_mv, axis=-1, padlen=_EDGE_PAD_SAMPLES)
    np.clip(signal_mv, -CLIP_MV, CLIP_MV, out=signal_mv)
    signal_mv /= MODEL_INPUT_DTYPE(MILLIVOLTS_PER_INPUT_UNIT)
    return np.ascontiguousarray(signal_mv.transpose(0, 2, 1), dtype=MODEL_INPUT_DTYPE)


def _check_batch(waveforms_uv: np.ndarray) -> None:
    """Raise unless `waveforms_uv` is a batch of contract waveforms."""
    if waveforms_uv.ndim != 3 or waveforms_uv.shape[1:] != (N_LEADS, N_SAMPLES):
        raise WaveformContractError(
            f"batch shape {waveforms_uv.shape} != contract (n, {N_LEADS}, {N_SAMPLES})"
        )
    if waveforms_uv.dtype != STORAGE_DTYPE:
        raise WaveformContractError(f"batch dtype {waveforms_uv.dtype} != {STORAGE_DTYPE}")
