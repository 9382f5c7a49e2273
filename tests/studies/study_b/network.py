"""Study B's inputs straight from a simulated network's records, for the recovery checks.

The refresh reaches the same frames through ingestion, harmonization and core (checked on the
demo network elsewhere); here the generator's clean records are mapped to them directly, so
that several large simulated cohorts can be analysed in the time of one refresh. The mapping
is the harmonized meaning of each record: CK in U/L, MRC grade without its modifier, doses in
mg, the serotype the serology panel encodes.
"""

from __future__ import annotations

import re

import pandas as pd

from imnm.demo.cohort import Network
from imnm.harmonize.rules import NECROTIZING_PATTERN
from imnm.studies.study_b.inputs import StudyBInputs
from imnm.studies.study_b.parameters import TREATMENT_CLASSES

SEROTYPES = {"anti_hmgcr": "anti-HMGCR", "anti_srp": "anti-SRP", "seronegative": "seronegative"}
_NECROTIZING = re.compile(NECROTIZING_PATTERN)


def study_b_inputs(network: Network) -> StudyBInputs:
    """The frames `read_inputs` would read from core for this network (no fit cache)."""
    key = {(p.site, p.local_id): f"P{p.patient_index:06d}" for p in network.patients}
    unavailable = {(b.site, b.local_id) for b in network.records_unavailable}
    for n, (site, local_id) in enumerate(sorted(unavailable)):
        key[(site, local_id)] = f"U{n:06d}"
    by_key = {key[(p.site, p.local_id)]: p for p in network.patients}
    biopsies = pd.DataFrame(
        [{"patient_key": key[(b.site, b.local_id)], "site": b.site,
          "biopsy_date": b.biopsy_date} for b in network.biopsies
         if _NECROTIZING.search(b.histology_text.lower())])
    first = biopsies.sort_values("biopsy_date").groupby("patient_key", as_index=False).first()
    first["has_clinical_record"] = first["patient_key"].isin(by_key)
    first["diagnosis"] = first["patient_key"].map(
        lambda k: by_key[k].diagnosis if k in by_key else None)
    patients = pd.DataFrame(
        [{"patient_key": k, "site": p.site, "sex": p.sex,
          "age_at_diagnosis": p.age_at_diagnosis,
          "symptom_onset_date": p.symptom_onset_date, "diagnosis_date": p.diagnosis_date,
          "statin_exposure": p.statin_exposure,
          "serotype": SEROTYPES[p.latent.serotype] if p.diagnosis == "imnm" else None}
         for k, p in by_key.items()])
    treatments = pd.DataFrame(
        [{"patient_key": key[(t.site, t.local_id)], "drug_class": t.drug_class,
          "agent": t.agent,
          "dose_mg": None if t.dose is None else t.dose * (1000.0 if t.dose_unit == "g" else 1.0),
          "start_date": t.start_date, "stop_date": t.stop_date}
         for t in network.treatments if t.drug_class in TREATMENT_CLASSES])
    treatments["dose_mg"] = treatments["dose_mg"].astype(float)
    ck = pd.DataFrame(
        [{"patient_key": key[(lab.site, lab.local_id)], "sample_date": lab.sample_date,
          "ck_u_l": lab.value} for lab in network.labs if lab.analyte == "ck" and lab.value > 0])
    exams = pd.DataFrame(
        [{"patient_key": key[(s.site, s.local_id)], "exam_date": s.exam_date,
          "mrc_grade": int(s.mrc_grade[0])} for s in network.strength
         if s.muscle_group == "hip_flexors"])
    hip_flexors = (exams.groupby(["patient_key", "exam_date"], as_index=False)
                   .agg(weaker_mrc_grade=("mrc_grade", "min"),
                        sides_graded=("mrc_grade", "size")))
    return StudyBInputs(candidates=first, patients=patients, treatments=treatments, ck=ck,
                        hip_flexors=hip_flexors)
