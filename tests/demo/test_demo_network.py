"""The synthetic demo network: reproducible, shaped like the studies, delivered as configured.

A failure here means the demo deliveries no longer match what the platform is built to ingest
(site configuration, vocabularies, ECG readers) or no longer carry the margins and defects
the analyses and data-quality checks are verified against.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest

from imnm.demo import (
    DefectPlan,
    generate_demo,
    simulate_network,
    simulate_training_centre,
    write_site_extracts,
)
from imnm.demo.cohort import Network
from imnm.demo.defects import UNMAPPED_DRUG_SPELLINGS
from imnm.demo.site_conventions import convention_for
from imnm.demo.sites import DeliveryManifest, manifest_path
from imnm.demo.tables import format_number
from imnm.siteconfig import load_site_config, load_vocabularies, normalize_spelling

REPO_ROOT = Path(__file__).resolve().parents[2]
SITES_DIR = REPO_ROOT / "config" / "sites"
VOCABULARIES = REPO_ROOT / "config" / "vocabularies.toml"
SITES = ("lakeside", "riverside", "hillcrest", "northgate")
SMALL_SEED = 7
SMALL_N = 24
# Which platform vocabulary codes each canonical column.
VOCABULARY_OF_COLUMN = {
    "sex": "sex", "race": "race", "statin_exposure": "statin_exposure",
    "hypertension": "yes_no", "diabetes": "yes_no", "smoker": "yes_no", "bp_treated": "yes_no",
    "respiratory_involvement": "yes_no", "restrictive_pulmonary": "yes_no",
    "cardiorespiratory_symptoms": "yes_no", "diagnosis": "diagnosis", "antigen": "antigen",
    "result": "serology_result", "drug": "drug", "route": "route", "dose_unit": "unit",
    "analyte": "analyte", "unit": "unit", "muscle_group": "muscle_group", "side": "side",
    "mrc_grade": "mrc_grade", "diastolic_grade": "diastolic_grade", "death_cause": "death_cause",
}
ECG_LEADS_STORED = {"wfdb": 12, "hl7-aecg": 12, "ge-muse": 8, "philips-sierra": 12}


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value)
    return str(value)


def read_table(path: Path, fmt: str, sheet: str | None = None
               ) -> tuple[list[str], list[list[str | None]]]:
    """Header and data rows of a delivered table, every cell as text (None when empty)."""
    if fmt == "csv":  # in the delivering site's delimiter and encoding (landing/<site>/...)
        convention = convention_for(path.parent.name)
        text = path.read_bytes().decode(convention.csv_encoding).encode("utf-8")
        frame = pl.read_csv(text, infer_schema=False, separator=convention.csv_delimiter)
        return frame.columns, [[_text(v) for v in row] for row in frame.iter_rows()]
    if fmt == "parquet":
        frame = pl.read_parquet(path)
        return frame.columns, [[_text(v) for v in row] for row in frame.iter_rows()]
    if fmt == "xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        rows = list(worksheet.iter_rows(values_only=True))
        workbook.close()
        return [str(c) for c in rows[0]], [[_text(v) for v in row] for row in rows[1:]]
    raise KeyError(fmt)


@pytest.fixture(scope="module")
def large_network() -> Network:
    return simulate_network(2000, seed=20260101)


@pytest.fixture(scope="module")
def small_delivery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DeliveryManifest]:
    """A small delivery with ECG waveforms and the default defect plan."""
    data_dir = tmp_path_factory.mktemp("small")
    return data_dir, generate_demo(data_dir, n_patients=SMALL_N, seed=SMALL_SEED)


@pytest.fixture(scope="module")
def clean_delivery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DeliveryManifest]:
    """The default-size delivery without defects and without ECG files (tables only)."""
    landing = tmp_path_factory.mktemp("clean") / "landing"
    network = simulate_network(240, seed=20260101)
    return landing, write_site_extracts(network, landing, 20260101, DefectPlan.none(),
                                        ecg_waveforms=False)


# --- determinism ---------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_and_reruns_rewrite_nothing(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", n_patients=8, seed=11)
    generate_demo(tmp_path / "b", n_patients=8, seed=11)
    snapshot = _snapshot(tmp_path / "a")
    assert snapshot == _snapshot(tmp_path / "b")
    assert first.files_changed == len(first.files) > 0
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*") if p.is_file()}
    again = generate_demo(tmp_path / "a", n_patients=8, seed=11)
    assert again.files_changed == 0
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert again.files == first.files and again.defects == first.defects


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate_demo(tmp_path / "a", n_patients=8, seed=11, defects=DefectPlan.none())
    generate_demo(tmp_path / "b", n_patients=8, seed=12, defects=DefectPlan.none())
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert a.keys() != b.keys() or a != b
    shared = [name for name in a if name in b and name.endswith((".csv", ".parquet", ".xlsx"))]
    assert shared and all(a[name] != b[name] for name in shared if "patients" in name)


def test_a_patient_does_not_depend_on_cohort_size() -> None:
    small, large = simulate_network(10, seed=3), simulate_network(40, seed=3)
    assert small.patients == large.patients[:10]


# --- cohort margins (n = 2000) ----------------------------------------------------------------


def test_demographic_and_risk_factor_margins(large_network: Network) -> None:
    patients = large_network.patients
    ages = np.array([p.age_at_diagnosis for p in patients])
    assert abs(ages.mean() - 62) < 2 and 11 < ages.std() < 15
    assert ages.min() >= 18 and ages.max() <= 90
    assert abs(np.mean([p.sex == "male" for p in patients]) - 0.52) < 0.04
    assert abs(np.mean([p.hypertension for p in patients]) - 0.44) < 0.05
    assert abs(np.mean([p.diabetes for p in patients]) - 0.30) < 0.04
    statins = Counter(p.statin_exposure for p in patients)
    assert abs(statins["current"] / len(patients) - 0.59) < 0.05
    assert abs(statins["previous"] / len(patients) - 0.15) < 0.04
    for p in patients:
        age = (p.diagnosis_date - p.birth_date).days / 365.25
        assert abs(age - p.age_at_diagnosis) < 0.01
        assert p.symptom_onset_date < p.diagnosis_date <= p.last_followup_date


def test_serotype_and_diagnosis_margins(large_network: Network) -> None:
    patients = large_network.patients
    shares = Counter(p.latent.serotype for p in patients)
    for serotype, expected in (("anti_hmgcr", 0.56), ("anti_srp", 0.11), ("seronegative", 0.33)):
        assert abs(shares[serotype] / len(patients) - expected) < 0.04
    diagnoses = Counter(p.diagnosis for p in patients)
    assert 0.85 < diagnoses["imnm"] / len(patients) < 0.97
    assert {"antisynthetase_syndrome", "dermatomyositis", "overlap_myositis",
            "statin_rhabdomyolysis"} <= set(diagnoses)
    hmgcr = {(s.site, s.local_id): s.result for s in large_network.serology
             if s.antigen == "HMGCR"}
    for p in patients:
        assert (hmgcr[(p.site, p.local_id)] == "positive") == (p.latent.serotype == "anti_hmgcr")


def test_echo_and_lvd_margins(large_network: Network) -> None:
    patients = large_network.patients
    assert abs(np.mean([p.latent.lvd_broad for p in patients]) - 0.37) < 0.04
    first_echo: dict[tuple[str, str], object] = {}
    for echo in sorted(large_network.echos, key=lambda e: e.echo_date):
        if echo.within_year_of_onset:
            first_echo.setdefault((echo.site, echo.local_id), echo)
    assert abs(len(first_echo) / len(patients) - 0.75) < 0.05
    assert abs(np.mean([e.lvd_broad for e in first_echo.values()]) - 0.37) < 0.05
    severe = [e for e in large_network.echos if e.lv_impairment >= 0.75]
    assert severe and all(e.lvef_percent <= 35 for e in severe)
    assert all(e.lvef_percent > 35 for e in large_network.echos if e.lv_impairment < 0.75)
    normal = [e for e in large_network.echos if not e.lvd_broad]
    assert all(e.diastolic_grade == "normal" for e in normal)
    seronegative = [p.latent.lvd_broad for p in patients if p.latent.serotype == "seronegative"]
    seropositive = [p.latent.lvd_broad for p in patients if p.latent.serotype != "seronegative"]
    assert np.mean(seronegative) > np.mean(seropositive) + 0.1


def test_deaths_rise_with_lv_impairment(large_network: Network) -> None:
    patients = large_network.patients
    assert abs(np.mean([p.died for p in patients]) - 0.17) < 0.04
    severe = [p.died for p in patients if p.latent.ef_le_35]
    normal = [p.died for p in patients if not p.latent.lvd_broad]
    assert np.mean(severe) > 3 * np.mean(normal)
    causes = Counter(p.death_cause for p in patients if p.died)
    assert set(causes) == {"cardiorespiratory", "infection", "malignancy", "undetermined"}
    for p in patients:
        assert (p.death_date is None) == (p.death_cause is None)
        if p.died:
            assert p.last_followup_date == p.death_date


def test_treatment_and_ck_margins(large_network: Network) -> None:
    patients = large_network.patients
    assert abs(np.mean([p.latent.ivmp for p in patients]) - 0.47) < 0.05
    assert abs(np.mean([p.latent.early_ivig for p in patients]) - 0.29) < 0.05
    assert abs(np.mean([p.latent.csdmard for p in patients]) - 0.38) < 0.05
    ck: dict[tuple[str, str], dict[str, float]] = {}
    for lab in large_network.labs:
        if lab.analyte == "ck":
            ck.setdefault((lab.site, lab.local_id), {})[lab.visit] = lab.value
    baseline = np.array([v["baseline"] for v in ck.values()])
    assert 5000 < np.median(baseline) < 8500 and baseline.min() < 500 and baseline.max() > 1e5
    fall_3 = np.mean([1 - v["month_3"] / v["baseline"] for v in ck.values() if "month_3" in v])
    fall_6 = np.mean([1 - v["month_6"] / v["baseline"] for v in ck.values() if "month_6" in v])
    assert abs(fall_3 - 0.83) < 0.04 and abs(fall_6 - 0.92) < 0.03
    early_ivig = {(p.site, p.local_id) for p in patients if p.latent.early_ivig}
    for t in large_network.treatments:
        if t.drug_class == "ivig" and (t.site, t.local_id) in early_ivig and t.dose_unit == "g":
            diagnosis = next(p.diagnosis_date for p in patients
                             if (p.site, p.local_id) == (t.site, t.local_id))
            assert t.start_date - diagnosis <= timedelta(days=56)


def test_ecg_schedule(large_network: Network) -> None:
    patients = {(p.site, p.local_id): p for p in large_network.patients}
    by_patient: dict[tuple[str, str], list] = {}
    for ecg in large_network.ecgs:
        by_patient.setdefault((ecg.site, ecg.local_id), []).append(ecg)
    assert set(by_patient) == set(patients)
    assert len({e.ecg_id for e in large_network.ecgs}) == len(large_network.ecgs)
    serial = 0
    for key, ecgs in by_patient.items():
        patient = patients[key]
        index = [e for e in ecgs if e.is_index]
        assert len(index) == 1
        assert 0 <= (index[0].acquired_at.date() - patient.symptom_onset_date).days <= 366
        assert abs(index[0].lv_impairment - patient.latent.lv_impairment_at_diagnosis) < 0.12
        if patient.latent.has_serial_ecgs and len(ecgs) >= 3:
            serial += 1
        assert all(e.acquired_at.date() <= patient.last_followup_date for e in ecgs)
    assert abs(serial / len(patients) - 0.40) < 0.05
    assert 2.2 < len(large_network.ecgs) / len(patients) < 3.0
    # On immunotherapy the latent impairment falls for most patients with LVD.
    falls = [p.latent.lv_impairment_at(p.latent.treatment_start_date + timedelta(days=730))
             < p.latent.lv_impairment_at_diagnosis
             for p in patients.values() if p.latent.lvd_broad]
    assert np.mean(falls) > 0.6


# --- deliveries and configuration ----------------------------------------------------------


def test_each_site_writes_its_files_in_its_format(clean_delivery) -> None:
    landing, manifest = clean_delivery
    for site in SITES:
        convention = convention_for(site)
        tables = [f for f in manifest.files if f.site == site]
        assert len(tables) == len(convention.tables)
        for written in tables:
            assert written.format == convention.table_format
            path = landing / written.path
            assert path.is_file()
            header, rows = read_table(path, written.format, convention.sheets.get(written.kind))
            assert header == [name for name, _, _ in convention.tables[written.kind]]
            assert len(rows) == written.rows > 0
    assert manifest.defects == ()
    assert manifest_path(landing).read_text().splitlines() == [
        "site,file,row,column,kind,original_value,injected_value"
    ]


def test_site_configs_parse_and_map_existing_columns(clean_delivery) -> None:
    landing, manifest = clean_delivery
    for site in SITES:
        path = SITES_DIR / f"{site}.toml"
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        config = load_site_config(path)
        assert raw["site"] == config.site == site
        for kind, mapping in config.kinds.items():
            matches = sorted((landing / site).glob(mapping.pattern))
            if mapping.is_ecg:
                assert mapping.format == convention_for(site).ecg_format
                continue
            assert [m.relative_to(landing).as_posix() for m in matches] == [
                f.path for f in manifest.files_of(site, kind)
            ]
            header, _ = read_table(matches[0], mapping.format, mapping.sheet)
            mapped = [*mapping.columns.values(), *(w.column for w in mapping.wide)]
            assert set(mapped) <= set(header), (site, kind, set(mapped) - set(header))


def test_every_coded_value_maps_to_a_platform_code(clean_delivery) -> None:
    landing, manifest = clean_delivery
    vocabularies = load_vocabularies(VOCABULARIES)
    for site in SITES:
        config = load_site_config(SITES_DIR / f"{site}.toml")
        for kind, mapping in config.kinds.items():
            if mapping.is_ecg:
                continue
            header, rows = read_table(landing / manifest.files_of(site, kind)[0].path,
                                      mapping.format, mapping.sheet)
            for canonical, source in mapping.columns.items():
                vocabulary = VOCABULARY_OF_COLUMN.get(canonical)
                if vocabulary is None or (canonical == "result" and kind != "serology"):
                    continue
                site_codes = {normalize_spelling(k): v
                              for k, v in mapping.codes.get(canonical, {}).items()}
                column = header.index(source)
                spellings = {row[column] for row in rows if row[column] is not None}
                unmapped = {s for s in spellings if normalize_spelling(s) not in site_codes
                            and normalize_spelling(s) not in vocabularies[vocabulary]}
                assert not unmapped, (site, kind, canonical, unmapped)
            for canonical, value in mapping.fixed.items():
                assert normalize_spelling(value) in vocabularies[VOCABULARY_OF_COLUMN[canonical]]


def test_ecg_files_read_back_with_patient_id_and_time(small_delivery) -> None:
    from imnm.ecg.formats import EcgFileError, read_ecg

    data_dir, manifest = small_delivery
    network = simulate_network(SMALL_N, seed=SMALL_SEED)
    truncated = {d.file for d in manifest.defects if d.kind == "truncated_file"}
    read = 0
    for ecg in network.ecgs:
        convention = convention_for(ecg.site)
        suffix = ".hea" if convention.ecg_format == "wfdb" else ".xml"
        relative = f"{ecg.site}/{convention.ecg_path(ecg.ecg_id)}"
        path = data_dir / "landing" / f"{relative}{suffix}"
        if any(name.startswith(relative) for name in truncated):
            with pytest.raises(EcgFileError):
                read_ecg(path, convention.ecg_format)
            continue
        record = read_ecg(path, convention.ecg_format)
        assert record.patient_id == ecg.local_id
        assert record.acquired_at.replace(tzinfo=None) == ecg.acquired_at
        assert record.sampling_hz == 500
        assert len(record.leads) == ECG_LEADS_STORED[convention.ecg_format]
        assert record.signal_uv.shape[1] == 5000
        read += 1
    assert read == len(network.ecgs) - 1 and manifest.n_ecgs == len(network.ecgs)


# --- defects -----------------------------------------------------------------------------------


def assert_defects_are_in_files(landing: Path, manifest: DeliveryManifest) -> None:
    """Each listed defect is in its file at the stated row and column, as stated."""
    tables: dict[str, tuple[list[str], list[list[str | None]]]] = {}
    for defect in manifest.defects:
        if defect.kind == "truncated_file":
            whole = int(defect.original_value.split()[0])
            assert (landing / defect.file).stat().st_size == whole // 2
            continue
        site = defect.file.split("/")[0]
        written = next(f for f in manifest.files if f.path == defect.file)
        sheet = convention_for(site).sheets.get(written.kind)
        if defect.file not in tables:
            tables[defect.file] = read_table(landing / defect.file, written.format, sheet)
        header, rows = tables[defect.file]
        row = rows[defect.row - 1]
        if defect.kind == "duplicate_row":
            assert row == rows[defect.row - 2]
            continue
        assert row[header.index(defect.column)] == (defect.injected_value or None), defect
        assert defect.original_value != defect.injected_value


def test_every_injected_defect_is_in_the_files_where_the_manifest_says(small_delivery) -> None:
    data_dir, manifest = small_delivery
    kinds = Counter(d.kind for d in manifest.defects)
    assert kinds["unit_mixup"] == DefectPlan().unit_mixup_batch_size
    assert kinds["truncated_file"] == kinds["unmapped_code"] == 1
    assert kinds["duplicate_row"] and kinds["missing_value"]
    assert_defects_are_in_files(data_dir / "landing", manifest)
    ck_mixups = [d for d in manifest.defects if d.kind == "unit_mixup"]
    assert len({d.file for d in ck_mixups}) == 1  # one mislabelled batch, in one file
    assert all(d.file.startswith(("riverside/", "northgate/")) for d in ck_mixups)
    for d in ck_mixups:
        injected, original = (float(v.replace(",", "."))
                              for v in (d.injected_value, d.original_value))
        assert abs(injected - 60 * original) <= 30


def test_manifest_csv_lists_every_defect_outside_the_landing_zone(small_delivery) -> None:
    data_dir, manifest = small_delivery
    path = manifest.defects_path
    assert path == data_dir / "demo_manifest" / "defects.csv"
    frame = pl.read_csv(path, infer_schema=False)
    assert frame.height == len(manifest.defects)
    listed = {(r["file"], r["row"], r["column"], r["kind"]) for r in frame.iter_rows(named=True)}
    assert listed == {(d.file, None if d.row is None else str(d.row), d.column or None, d.kind)
                      for d in manifest.defects}


def test_unmapped_drug_spelling_is_unknown_to_every_vocabulary() -> None:
    drugs = load_vocabularies(VOCABULARIES)["drug"]
    site_codes = set()
    for site in SITES:
        config = load_site_config(SITES_DIR / f"{site}.toml")
        site_codes |= {normalize_spelling(k)
                       for k in config.kinds["treatments"].codes.get("drug", {})}
    for spelling in UNMAPPED_DRUG_SPELLINGS:
        assert normalize_spelling(spelling) not in drugs
        assert normalize_spelling(spelling) not in site_codes


def test_default_defect_rates(tmp_path: Path) -> None:
    network = simulate_network(240, seed=5)
    manifest = write_site_extracts(network, tmp_path / "landing", 5, DefectPlan(),
                                   ecg_waveforms=False)
    kinds = Counter(d.kind for d in manifest.defects)
    delivered = sum(f.rows for f in manifest.files)
    original = delivered - kinds["duplicate_row"]
    assert 0.012 < kinds["duplicate_row"] / original < 0.028
    assert 0.02 < kinds["missing_value"] / original < 0.04
    assert kinds["out_of_range"] > 10
    assert_defects_are_in_files(tmp_path / "landing", manifest)
    assert {d.injected_value for d in manifest.defects if d.kind == "out_of_range"} <= {
        "-5", "140", "7", "400"
    }


# --- training centre ---------------------------------------------------------------------------


def test_training_centre_prevalence() -> None:
    centre = simulate_training_centre(4000, seed=9)
    assert 0.055 < centre.ef_le_35.mean() < 0.085
    assert 0.22 < centre.lvd_broad.mean() < 0.28
    assert np.all(centre.lvd_broad[centre.ef_le_35])
    assert len(set(centre.patient_ids)) == len(centre)


def test_training_centre_patients_are_not_network_patients() -> None:
    centre = simulate_training_centre(30, seed=9)
    network_ids = {p.local_id for p in simulate_network(50, seed=9).patients}
    assert not network_ids & set(centre.patient_ids)
