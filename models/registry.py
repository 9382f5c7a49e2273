"""A file-system registry of trained AI-ECG models, each stored with its model card.

Layout under the registry root::

    <root>/<version>/model.keras   the saved Keras model
    <root>/<version>/card.json     its ModelCard, including the model file's sha256
    <root>/CURRENT                 the version that scoring uses

Versions are immutable: registering an existing version is refused, and loading re-checks the
model file against the sha256 in its card. Listing and reading cards never import Keras or a
backend; only `register` and `load` do. Cards written before a field was added still read: the
newer fields are optional.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from imnm.ecg.contract import AMPLITUDE_UNIT, LEADS, N_SAMPLES, SAMPLING_HZ
from models.preprocess import PREPROCESSING_VERSION
from warehouse.files import write_text_atomically

if TYPE_CHECKING:
    import keras

MODEL_FILE: Final[str] = "model.keras"
CARD_FILE: Final[str] = "card.json"
CURRENT_FILE: Final[str] = "CURRENT"
VERSION_PREFIX: Final[str] = "ai-ecg-lvd"
DEMO_VERSION_PREFIX: Final[str] = "ai-ecg-lvd-demo"
NOT_CLINICALLY_VALID: Final[str] = "NOT clinically valid"
DEMO_CLINICAL_VALIDITY: Final[str] = (
    "Demonstration model trained on synthetic data. It is NOT clinically valid: its outputs "
    "carry no diagnostic meaning and must not inform the care of any patient."
)
DEMO_INTENDED_USE: Final[str] = (
    "Demonstration of the platform's training, scoring, release and analysis pipeline on "
    "synthetic data only."
)
PLATFORM_TRAINED_CLINICAL_VALIDITY: Final[str] = (
    "NOT clinically validated: trained by this platform on the named warehouse and measured "
    "on its own held-out patients only. Before any clinical use it needs external validation "
    "and the approval of the institution's governance."
)
PLATFORM_TRAINED_INTENDED_USE: Final[str] = (
    "Research: P(LVD) from a resting 12-lead ECG for the platform's study analyses."
)
_VERSION_PATTERN: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HASH_CHUNK_BYTES: Final[int] = 1 << 20


class RegistryError(RuntimeError):
    """The model registry cannot do what was asked."""


class ModelVersionExistsError(RegistryError):
    """A version with this name is already registered; versions are never overwritten."""


class ModelNotFoundError(RegistryError):
    """No registered model has this version."""


class NoCurrentModelError(RegistryError):
    """The registry has no current model yet."""


class ContractMismatchError(RegistryError):
    """A model expects other input than this platform's waveform contract gives."""


class ModelIntegrityError(RegistryError):
    """A model file's sha256 differs from the one recorded in its card."""


@dataclass(frozen=True)
class InputContract:
    """What a model expects: lead order, sampling rate, length, unit and preprocessing."""

    leads: tuple[str, ...]
    sampling_hz: int
    n_samples: int
    unit: str
    preprocessing_version: str

    @classmethod
    def current(cls) -> InputContract:
        """The contract that this code base's preprocessing produces."""
        return cls(
            leads=LEADS,
            sampling_hz=SAMPLING_HZ,
            n_samples=N_SAMPLES,
            unit=AMPLITUDE_UNIT,
            preprocessing_version=PREPROCESSING_VERSION,
        )


@dataclass(frozen=True)
class SplitCounts:
    """ECGs, patients and positives of one patient-level split."""

    n_ecgs: int
    n_patients: int
    n_positive: int


@dataclass(frozen=True)
class TrainingDataSummary:
    """Size, class balance and a content fingerprint of the data a model was trained on.

    The optional fields record where the pairs came from: the label column, the ECG/echo
    pairing window, the split seed and every split's counts, and how many pairs were dropped
    because the label was unknown.
    """

    n_ecgs: int
    n_patients: int
    n_positive: int
    fingerprint: str
    synthetic: bool
    source: str | None = None
    label: str | None = None
    pair_window_days: int | None = None
    split_seed: int | None = None
    splits: dict[str, SplitCounts] | None = None
    n_pairs_unknown_label: int | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TrainingDataSummary:
        """Rebuild from `asdict` output (splits as plain dicts)."""
        fields = dict(raw)
        if fields.get("splits") is not None:
            fields["splits"] = {name: SplitCounts(**counts)
                                for name, counts in fields["splits"].items()}
        return cls(**fields)


@dataclass(frozen=True)
class ReliabilityBin:
    """One group of test ECGs by predicted P(LVD): size, mean prediction, observed rate."""

    n: int
    n_positive: int
    predicted_min: float
    predicted_max: float
    mean_predicted: float
    observed_rate: float
    observed_ci_low: float
    observed_ci_high: float


@dataclass(frozen=True)
class ReliabilityTable:
    """A calibration (reliability) table of the test split and how its groups were formed."""

    binning: str
    bins: tuple[ReliabilityBin, ...]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ReliabilityTable:
        """Rebuild from `asdict` output."""
        return cls(binning=raw["binning"],
                   bins=tuple(ReliabilityBin(**item) for item in raw["bins"]))


@dataclass(frozen=True)
class ModelCard:
    """The facts a model is published with; stored as card.json beside the model file.

    `version` and `sha256` are filled in by `ModelRegistry.register`. `reliability` (the test
    split's calibration table) and `metric_methods` (how each interval was computed) are
    optional, so older cards still read.
    """

    code_version: str
    label_definition: str
    training_data: TrainingDataSummary
    metrics: dict[str, float]
    intended_use: str
    clinical_validity: str
    input_contract: InputContract = field(default_factory=InputContract.current)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    version: str | None = None
    sha256: str | None = None
    reliability: ReliabilityTable | None = None
    metric_methods: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.training_data.synthetic and NOT_CLINICALLY_VALID not in self.clinical_validity:
            raise ValueError(
                f"a model trained on synthetic data must state {NOT_CLINICALLY_VALID!r} in "
                "clinical_validity"
            )

    def to_json(self) -> str:
        """Serialise to JSON text, version first."""
        fields = asdict(self)
        ordered = {"version": fields.pop("version"), **fields}
        return json.dumps(ordered, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse JSON text written by `to_json`."""
        raw: dict[str, Any] = json.loads(text)
        contract = raw.pop("input_contract")
        contract["leads"] = tuple(contract["leads"])
        reliability = raw.pop("reliability", None)
        return cls(
            input_contract=InputContract(**contract),
            training_data=TrainingDataSummary.from_dict(raw.pop("training_data")),
            reliability=ReliabilityTable.from_dict(reliability) if reliability else None,
            **raw,
        )


@dataclass(frozen=True)
class RegisteredModel:
    """A model version in the registry: its directory and its card."""

    version: str
    directory: Path
    card: ModelCard

    @property
    def model_path(self) -> Path:
        return self.directory / MODEL_FILE

    @property
    def card_path(self) -> Path:
        return self.directory / CARD_FILE


class ModelRegistry:
    """Versioned, write-once model storage under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def register(self, model: keras.Model, card: ModelCard) -> RegisteredModel:
        """Save `model` with `card` as a new version and return it; never overwrites.

        Without `card.version` the version is `<prefix>-<YYYYMMDD>-<first 8 of sha256>`,
        the prefix marking synthetic-data (demo) models.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if card.version is not None:
            self._check_available(card.version)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            model.save(staging / MODEL_FILE)
            sha256 = file_sha256(staging / MODEL_FILE)
            version = card.version or _default_version(card, sha256)
            self._check_available(version)
            card = replace(card, version=version, sha256=sha256)
            (staging / CARD_FILE).write_text(card.to_json(), encoding="utf-8")
            try:
                staging.rename(self.root / version)
            except OSError as error:
                message = f"model version {version!r} already exists"
                raise ModelVersionExistsError(message) from error
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return RegisteredModel(version=version, directory=self.root / version, card=card)

    def import_artifact(self, model_file: Path, card_file: Path) -> RegisteredModel:
        """Register a model file made elsewhere (a centre's validated weights, or the committed
        demo model) after checking its card's input contract and sha256.

        Importing the same version with the same content again returns the registered one.
        """
        try:
            card = ModelCard.from_json(Path(card_file).read_text(encoding="utf-8"))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise RegistryError(f"{card_file}: not a readable model card ({error})") from error
        if card.version is None or card.sha256 is None:
            raise RegistryError(f"{card_file}: the card must name its version and sha256")
        differences = contract_differences(card.input_contract, InputContract.current())
        if differences:
            raise ContractMismatchError(
                f"{card_file}: the model's input contract differs from this platform's in "
                + "; ".join(differences))
        actual = file_sha256(Path(model_file))
        if actual != card.sha256:
            raise ModelIntegrityError(
                f"{model_file}: sha256 {actual} differs from the card's {card.sha256}")
        existing = self.root / card.version
        if existing.exists():
            registered = self.get(card.version)
            if registered.card.sha256 == actual:
                return registered
            raise ModelVersionExistsError(f"model version {card.version!r} already exists "
                                          "with other content")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            shutil.copyfile(model_file, staging / MODEL_FILE)
            (staging / CARD_FILE).write_text(card.to_json(), encoding="utf-8")
            staging.rename(existing)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return self.get(card.version)

    def list(self) -> list[RegisteredModel]:
        """All registered versions, oldest first (reads cards only; imports no Keras)."""
        if not self.root.is_dir():
            return []
        found = [
            self._read(entry.name)
            for entry in self.root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".") and (entry / CARD_FILE).is_file()
        ]
        return sorted(found, key=lambda model: (model.card.created_at, model.version))

    def get(self, version: str) -> RegisteredModel:
        """The registered model `version`, or ModelNotFoundError."""
        _check_version_name(version)
        if not (self.root / version / CARD_FILE).is_file():
            raise ModelNotFoundError(f"no model version {version!r} in registry {self.root}")
        return self._read(version)

    def current(self) -> RegisteredModel:
        """The model that scoring should use, as named in the CURRENT file."""
        current_file = self.root / CURRENT_FILE
        if not current_file.is_file():
            raise NoCurrentModelError(
                f"registry {self.root} has no current model: register one and call "
                "set_current(version)"
            )
        return self.get(current_file.read_text(encoding="utf-8").strip())

    def set_current(self, version: str) -> None:
        """Make `version` the current model; the CURRENT file is replaced atomically."""
        self.get(version)
        write_text_atomically(self.root / CURRENT_FILE, version + "\n")

    def load(self, version: str) -> keras.Model:
        """Load `version` after checking its model file against the sha256 in its card.

        The verified bytes are the ones loaded, so a file changed after the check is never used.
        """
        registered = self.get(version)
        content = registered.model_path.read_bytes()
        actual = hashlib.sha256(content).hexdigest()
        if actual != registered.card.sha256:
            raise ModelIntegrityError(
                f"model {version!r}: {registered.model_path} has sha256 {actual}, card records "
                f"{registered.card.sha256}; the file was changed after registration"
            )
        import keras

        with tempfile.TemporaryDirectory() as scratch:
            verified = Path(scratch) / MODEL_FILE
            verified.write_bytes(content)
            return keras.saving.load_model(verified, compile=False)

    def _read(self, version: str) -> RegisteredModel:
        """Read one version's card from disk."""
        directory = self.root / version
        card = ModelCard.from_json((directory / CARD_FILE).read_text(encoding="utf-8"))
        return RegisteredModel(version=version, directory=directory, card=card)

    def _check_available(self, version: str) -> None:
        """Raise unless `version` is a safe, unused name."""
        _check_version_name(version)
        if (self.root / version).exists():
            raise ModelVersionExistsError(f"model version {version!r} already exists")


def contract_differences(model: InputContract, platform: InputContract) -> list[str]:
    """`field: model X, platform Y` for every field where the two contracts differ."""
    return [f"{name}: model {getattr(model, name)!r}, platform {getattr(platform, name)!r}"
            for name in InputContract.__dataclass_fields__
            if getattr(model, name) != getattr(platform, name)]


def summarize_training_data(
    waveforms_uv: np.ndarray, labels: np.ndarray, patient_ids: np.ndarray, *, synthetic: bool,
    provenance: Mapping[str, Any] | None = None,
) -> TrainingDataSummary:
    """Count ECGs, patients and positives, and fingerprint waveforms, labels and patients.

    `provenance` (e.g. the label column and pairing window) is hashed in too, so the same ECGs
    paired or labelled another way fingerprint differently.
    """
    digest = hashlib.sha256()
    for array in (waveforms_uv, np.asarray(labels, dtype=np.int64)):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    for patient_id in patient_ids:
        digest.update(str(patient_id).encode() + b"\0")
    if provenance:
        digest.update(json.dumps(dict(provenance), sort_keys=True).encode())
    return TrainingDataSummary(
        n_ecgs=len(waveforms_uv),
        n_patients=len(set(np.asarray(patient_ids).tolist())),
        n_positive=int(np.sum(labels)),
        fingerprint=digest.hexdigest(),
        synthetic=synthetic,
    )


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _default_version(card: ModelCard, sha256: str) -> str:
    """`<prefix>-<YYYYMMDD of created_at>-<first 8 of sha256>`."""
    prefix = DEMO_VERSION_PREFIX if card.training_data.synthetic else VERSION_PREFIX
    day = datetime.fromisoformat(card.created_at).strftime("%Y%m%d")
    return f"{prefix}-{day}-{sha256[:8]}"


def _check_version_name(version: str) -> None:
    """Refuse names that are not a single safe path component."""
    if not _VERSION_PATTERN.fullmatch(version):
        raise ValueError(f"invalid model version name {version!r}")


def card_says_synthetic(models_dir: Path, version: str) -> bool | None:
    """Whether the registered model's card says it was trained on synthetic data (None when
    `models_dir` has no readable card for that version)."""
    if not (models_dir / version).is_dir():
        return None
    try:
        return ModelRegistry(models_dir).get(version).card.training_data.synthetic
    except (RegistryError, ValueError, KeyError, TypeError):
        return None


def current_version_or_advice(models_dir: Path) -> str:
    """The registry's current model version; else ConfigurationError in one line saying what
    to run: `imnm model use` when models are registered but none is current, `imnm model
    import` or `train` when there are none. Reads cards only (no Keras)."""
    from imnm.settings import ConfigurationError

    registry = ModelRegistry(models_dir)
    try:
        return registry.current().version
    except RegistryError:
        registered = [model.version for model in registry.list()]
    if registered:
        raise ConfigurationError(
            f"no current AI-ECG model in {models_dir}: {len(registered)} registered "
            f"({', '.join(registered)}); choose one with `imnm model use VERSION`")
    raise ConfigurationError(
        f"no AI-ECG model in {models_dir}: import one with `imnm model import MODEL --card "
        "CARD --set-current` (`make run` imports the demo model) or train one with "
        "`imnm model train`")
