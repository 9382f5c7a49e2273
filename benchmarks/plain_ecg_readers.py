"""The plain alternative: one file -> one dict of metadata and 12 float64 lead arrays.

This is the per-file parse a user writes in a notebook with the usual library for each format:
`wfdb.rdrecord`, `xml.etree.ElementTree.parse` + base64 or text decoding, `pydicom.dcmread` +
`waveform_array`. Philips Sierra XML (XLI compression) and SCP-ECG (Huffman) have no maintained
plain Python library, so for them the loop calls the platform's own reader functions for the
decoding. No normalization, validation, hashing or lineage: samples are kept as the library
returns them (float64 microvolts at the file's rate). Leads III, aVR, aVL and aVF, which GE MUSE
and SCP-ECG files do not store, are computed from I and II so every row has 12 leads.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import wfdb

from imnm.ecg.formats.philips_sierra import read_philips_sierra
from imnm.ecg.formats.scp_ecg import read_scp_ecg

PlainRow = dict[str, Any]
HL7 = {"h": "urn:hl7-org:v3"}
_HL7_LEAD_PREFIX = "MDC_ECG_LEAD_"


def _with_limb_leads(leads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add III, aVR, aVL, aVF from I and II when a file stores only the 8 independent leads."""
    if "III" not in leads:
        lead_i, lead_ii = leads["I"], leads["II"]
        leads["III"] = lead_ii - lead_i
        leads["aVR"] = -(lead_i + lead_ii) / 2.0
        leads["aVL"] = lead_i - lead_ii / 2.0
        leads["aVF"] = lead_ii - lead_i / 2.0
    return leads


def read_wfdb_plain(path: Path) -> PlainRow:
    """`wfdb.rdrecord` on the record; one column per signal (physical units, here uV)."""
    record = wfdb.rdrecord(str(path.with_suffix("")))
    comments = dict(c.split(": ", 1) for c in record.comments if ": " in c)
    row: PlainRow = {
        "file": path.name,
        "patient_id": comments.get("patient_id"),
        "acquired_at": datetime.combine(record.base_date, record.base_time),
        "sampling_hz": float(record.fs),
    }
    for index, name in enumerate(record.sig_name):
        row[name] = record.p_signal[:, index]
    return row


def read_ge_muse_plain(path: Path) -> PlainRow:
    """ElementTree parse; base64 int16 per lead times LeadAmplitudeUnitsPerBit."""
    root = ET.parse(path).getroot()
    rhythm = next(w for w in root.iter("Waveform") if w.findtext("WaveformType") == "Rhythm")
    leads: dict[str, np.ndarray] = {}
    for lead in rhythm.iter("LeadData"):
        raw = base64.b64decode(lead.findtext("WaveFormData"))
        per_bit = float(lead.findtext("LeadAmplitudeUnitsPerBit"))
        leads[lead.findtext("LeadID")] = np.frombuffer(raw, dtype="<i2") * per_bit
    stamp = f"{root.findtext('TestDemographics/AcquisitionDate')} " \
            f"{root.findtext('TestDemographics/AcquisitionTime')}"
    return {
        "file": path.name,
        "patient_id": root.findtext("PatientDemographics/PatientID"),
        "acquired_at": datetime.strptime(stamp, "%m-%d-%Y %H:%M:%S"),
        "sampling_hz": float(rhythm.findtext("SampleBase")),
        **_with_limb_leads(leads),
    }


def read_hl7_aecg_plain(path: Path) -> PlainRow:
    """ElementTree parse; each RHYTHM lead's digits split into floats, origin + scale * digit."""
    root = ET.parse(path).getroot()
    subject = root.find(".//h:trialSubject/h:id", HL7)
    row: PlainRow = {"file": path.name,
                     "patient_id": subject.get("extension") if subject is not None else None}
    for sequence in root.iterfind(".//h:series/h:component/h:sequenceSet/h:component/h:sequence",
                                  HL7):
        code = sequence.find("h:code", HL7).get("code")
        value = sequence.find("h:value", HL7)
        if code == "TIME_ABSOLUTE":
            row["acquired_at"] = datetime.strptime(value.find("h:head", HL7).get("value")[:14],
                                                   "%Y%m%d%H%M%S")
            row["sampling_hz"] = 1.0 / float(value.find("h:increment", HL7).get("value"))
        elif code.startswith(_HL7_LEAD_PREFIX):
            origin = float(value.find("h:origin", HL7).get("value"))
            scale = float(value.find("h:scale", HL7).get("value"))
            digits = np.array(value.findtext("h:digits", namespaces=HL7).split(), dtype=float)
            row[code.removeprefix(_HL7_LEAD_PREFIX)] = origin + scale * digits
    return row


def read_dicom_plain(path: Path) -> PlainRow:
    """`pydicom.dcmread` + `waveform_array(0)` (sensitivity applied); labels from the channels."""
    ds = pydicom.dcmread(path)
    group = ds.WaveformSequence[0]
    samples = ds.waveform_array(0)
    row: PlainRow = {
        "file": path.name,
        "patient_id": str(ds.PatientID),
        "acquired_at": datetime.strptime(str(ds.AcquisitionDateTime)[:14], "%Y%m%d%H%M%S"),
        "sampling_hz": float(group.SamplingFrequency),
    }
    for index, channel in enumerate(group.ChannelDefinitionSequence):
        row[str(channel.ChannelLabel)] = samples[:, index]
    return row


def _platform_decoder(read: Callable[[Path], Any]) -> Callable[[Path], PlainRow]:
    def read_plain(path: Path) -> PlainRow:
        record = read(path)
        leads = dict(zip(record.leads, record.signal_uv, strict=True))
        return {"file": path.name, "patient_id": record.patient_id,
                "acquired_at": record.acquired_at, "sampling_hz": record.sampling_hz,
                **_with_limb_leads(leads)}

    read_plain.__name__ = f"{read.__name__}_plain"
    read_plain.__doc__ = f"No plain library: decode with the platform's `{read.__name__}`."
    return read_plain


PLAIN_READERS: dict[str, Callable[[Path], PlainRow]] = {
    "wfdb": read_wfdb_plain,
    "hl7-aecg": read_hl7_aecg_plain,
    "ge-muse": read_ge_muse_plain,
    "philips-sierra": _platform_decoder(read_philips_sierra),
    "dicom": read_dicom_plain,
    "scp-ecg": _platform_decoder(read_scp_ecg),
}
