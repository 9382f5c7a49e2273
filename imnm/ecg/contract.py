"""The one waveform contract every ECG is normalized to at ingestion.

Every stored ECG is 12 leads in `LEADS` order, `SAMPLING_HZ` samples per second,
`DURATION_S` seconds (`N_SAMPLES` samples), amplitudes as int16 microvolts
(`AMPLITUDE_UNIT`). Training and scoring read only this form.
"""

from __future__ import annotations

from typing import Final

import numpy as np

LEADS: Final[tuple[str, ...]] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
N_LEADS: Final[int] = len(LEADS)
SAMPLING_HZ: Final[int] = 500
DURATION_S: Final[int] = 10
N_SAMPLES: Final[int] = SAMPLING_HZ * DURATION_S
AMPLITUDE_UNIT: Final[str] = "uV"
STORAGE_DTYPE: Final[type[np.int16]] = np.int16


class WaveformContractError(ValueError):
    """A waveform does not have the contract's shape, dtype or lead order."""


def check_waveform(signal_uv: np.ndarray) -> np.ndarray:
    """Return `signal_uv` unchanged if it satisfies the contract, else raise."""
    if signal_uv.shape != (N_LEADS, N_SAMPLES):
        raise WaveformContractError(
            f"waveform shape {signal_uv.shape} != contract ({N_LEADS}, {N_SAMPLES})"
        )
    if signal_uv.dtype != STORAGE_DTYPE:
        raise WaveformContractError(f"waveform dtype {signal_uv.dtype} != {STORAGE_DTYPE}")
    return signal_uv
