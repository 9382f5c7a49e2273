"""Early detection: patients with a normal gold-standard echo and no cardiorespiratory symptoms,
by the model's call, and how many later had LVD on echo or died of cardiorespiratory failure
within the window after the index ECG."""

from __future__ import annotations

import pandas as pd

from imnm.studies.study_a.cohort import MODEL_GROUPS
from imnm.studies.study_a.parameters import StudyAParameters

CARDIORESPIRATORY_DEATH = "cardiorespiratory"


def early_detection(cohort: pd.DataFrame, params: StudyAParameters) -> pd.DataFrame:
    """Counts per model group among the silent-heart patients (normal echo, no symptoms)."""
    silent = cohort[(cohort["echo_lvd_flag"] == False)  # noqa: E712 (nullable boolean)
                    & (cohort["cardiorespiratory_symptoms"] == False)].copy()  # noqa: E712
    window_end = pd.to_datetime(silent["ecg_date"]) + pd.to_timedelta(
        params.early_detection_window_years * 365.25, unit="D")
    later_lvd = pd.to_datetime(silent["later_lvd_echo_date"]) <= window_end
    death = ((silent["death_cause"] == CARDIORESPIRATORY_DEATH)
             & (pd.to_datetime(silent["death_date"]) <= window_end))
    silent["later_lvd"] = later_lvd.fillna(False).astype(bool)
    silent["cardiorespiratory_death"] = death.fillna(False).astype(bool)
    rows = []
    for predicted, name in MODEL_GROUPS.items():
        group = silent[silent["model_predicts_lvd"].astype(bool) == predicted]
        rows.append({
            "model_group": name, "n_patients": len(group),
            "n_later_lvd": int(group["later_lvd"].sum()),
            "n_cardiorespiratory_death": int(group["cardiorespiratory_death"].sum()),
            "n_later_lvd_or_death": int((group["later_lvd"]
                                         | group["cardiorespiratory_death"]).sum()),
            "window_years": params.early_detection_window_years})
    return pd.DataFrame(rows)
