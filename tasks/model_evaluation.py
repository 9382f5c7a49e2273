"""Test-split metrics written into a model's card."""

from __future__ import annotations

import numpy as np

from imnm.stats.diagnostic import confusion_at_cutoff, roc_auc_delong

CARD_CUTOFF = 0.01


def evaluate_on_test_split(model: object, waveforms_uv: np.ndarray, labels: np.ndarray
                           ) -> dict[str, float]:
    """AUC with DeLong 95% CI and sensitivity/specificity at the study's 1% cutoff (when the
    test split holds both classes), plus its size and mean predicted probability."""
    from models.training import predict_lvd_probability

    probabilities = predict_lvd_probability(model, waveforms_uv)
    lvd = labels.astype(bool)
    metrics = {"test_n_ecgs": float(lvd.size), "test_n_positive": float(lvd.sum()),
               "test_mean_p_lvd": float(np.mean(probabilities))}
    if 0 < lvd.sum() < lvd.size:  # both classes present: discrimination is defined
        auc = roc_auc_delong(lvd, probabilities)
        at_cutoff = confusion_at_cutoff(lvd, probabilities, CARD_CUTOFF)
        metrics.update({
            "test_auc": auc.auc, "test_auc_ci_low": auc.ci_low, "test_auc_ci_high": auc.ci_high,
            "test_sensitivity_at_1pct": at_cutoff.sensitivity.estimate,
            "test_specificity_at_1pct": at_cutoff.specificity.estimate,
        })
    return metrics
