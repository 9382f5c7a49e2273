"""Turn any `EcgRecord` into the platform's waveform contract: (12, 5000) int16 microvolts.

Rules, applied in this order (pure functions, no I/O, same input -> same output):

1. Leads are put in contract order. If III, aVR, aVL or aVF are absent (GE MUSE, SCP with 8
   leads) they are derived from I and II: III = II - I, aVR = -(I + II)/2, aVL = I - II/2,
   aVF = II - I/2. Stored leads are never replaced by derived ones. Any other missing lead is
   an error.
2. The window is the first 10 s of the recording. Recordings shorter than 10 s are refused.
   When more signal follows, up to `RESAMPLE_MARGIN_S` of it is passed to the resampler so
   that the anti-aliasing filter sees real data, not zero padding, at the 10 s cut.
3. Other rates are resampled to 500 Hz with `scipy.signal.resample_poly` using the exact
   rational ratio of the two rates (1000 -> 500 is up 1 / down 2, 250 -> 500 is up 2 / down 1).
4. Values are rounded to whole microvolts and clipped to +-32767 (-32768 is the WFDB missing
   sample code, so it is never produced). Clipped samples are counted; more than
   `MAX_CLIPPED_FRACTION` of the samples clipping is an error, fewer gives a `ClippingWarning`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from imnm.ecg.contract import DURATION_S, LEADS, N_SAMPLES, SAMPLING_HZ, STORAGE_DTYPE
from imnm.ecg.formats import EcgFileError, EcgRecord

RESAMPLE_MARGIN_S = 1.0
MAX_CLIPPED_FRACTION = 0.01
INT16_LIMIT = 32767
_MAX_RATE_DENOMINATOR = 10_000
DERIVABLE_LEADS: tuple[str, ...] = ("III", "aVR", "aVL", "aVF")


class ClippingWarning(UserWarning):
    """Some samples exceeded the int16 microvolt range and were clipped."""


@dataclass(frozen=True, eq=False)
class ContractEcg:
    """A contract waveform plus what normalization did to get it."""

    signal_uv: np.ndarray
    derived_leads: tuple[str, ...]
    n_clipped: int
    source_sampling_hz: float
    source_duration_s: float


def _derive(name: str, lead_i: np.ndarray, lead_ii: np.ndarray) -> np.ndarray:
    if name == "III":
        return lead_ii - lead_i
    if name == "aVR":
        return -(lead_i + lead_ii) / 2.0
    if name == "aVL":
        return lead_i - lead_ii / 2.0
    return lead_ii - lead_i / 2.0  # aVF


def _contract_leads(record: EcgRecord) -> tuple[np.ndarray, tuple[str, ...]]:
    by_name = dict(zip(record.leads, record.signal_uv, strict=True))
    missing = tuple(name for name in LEADS if name not in by_name)
    underivable = [name for name in missing if name not in DERIVABLE_LEADS]
    if underivable or (missing and not {"I", "II"} <= by_name.keys()):
        raise EcgFileError(
            f"{record.source_format} record lacks leads {list(missing)}; "
            f"only {list(DERIVABLE_LEADS)} can be derived, and only from I and II"
        )
    for name in missing:
        by_name[name] = _derive(name, by_name["I"], by_name["II"])
    return np.vstack([by_name[name] for name in LEADS]), missing


def _rate_ratio(sampling_hz: float) -> Fraction:
    source = Fraction(sampling_hz).limit_denominator(_MAX_RATE_DENOMINATOR)
    if not math.isclose(float(source), sampling_hz, rel_tol=1e-9):
        raise EcgFileError(f"sampling rate {sampling_hz} Hz has no usable rational ratio to 500 Hz")
    return Fraction(SAMPLING_HZ) / source


def normalize_with_report(record: EcgRecord) -> ContractEcg:
    """Normalize `record` to the contract and report derived leads and clipped-sample count."""
    signal, derived = _contract_leads(record)
    rate = record.sampling_hz
    duration = record.duration_s
    needed = math.ceil(DURATION_S * rate - 1e-9)
    if signal.shape[1] < needed:
        raise EcgFileError(
            f"{record.source_format} record lasts {duration:.3f} s "
            f"({signal.shape[1]} samples at {rate:g} Hz); the contract needs {DURATION_S} s"
        )
    if not np.all(np.isfinite(signal)):
        raise EcgFileError(f"{record.source_format} record contains non-finite samples")
    ratio = _rate_ratio(rate)
    if ratio == 1:
        window = signal[:, :N_SAMPLES]
    else:
        margin = math.ceil(RESAMPLE_MARGIN_S * rate)
        segment = signal[:, : needed + margin]
        window = resample_poly(segment, ratio.numerator, ratio.denominator, axis=1)[:, :N_SAMPLES]
    if window.shape[1] != N_SAMPLES:  # a rate so odd that 10 s does not give 5000 samples
        got = window.shape[1]
        raise EcgFileError(f"resampling {rate:g} Hz gave {got} samples, not {N_SAMPLES}")
    rounded = np.rint(window)
    clipped = int(np.count_nonzero(np.abs(rounded) > INT16_LIMIT))
    if clipped > MAX_CLIPPED_FRACTION * rounded.size:
        raise EcgFileError(
            f"{clipped} of {rounded.size} samples exceed +-{INT16_LIMIT} uV "
            f"(more than {MAX_CLIPPED_FRACTION:.0%}); amplitude units are probably wrong"
        )
    contract = np.clip(rounded, -INT16_LIMIT, INT16_LIMIT).astype(STORAGE_DTYPE)
    return ContractEcg(
        signal_uv=contract,
        derived_leads=derived,
        n_clipped=clipped,
        source_sampling_hz=rate,
        source_duration_s=duration,
    )


def normalize_to_contract(record: EcgRecord) -> np.ndarray:
    """Return `record` in contract form: (12, 5000) int16 microvolts, 500 Hz, first 10 s.

    Clipping of a few samples is reported with a `ClippingWarning`; see the module docstring.
    """
    result = normalize_with_report(record)
    if result.n_clipped:
        warnings.warn(
            f"{result.n_clipped} samples clipped to +-{INT16_LIMIT} uV",
            ClippingWarning,
            stacklevel=2,
        )
    return result.signal_uv
