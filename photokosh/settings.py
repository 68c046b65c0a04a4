"""The settings of a run (SortOptions), and how they are remembered: OUT keeps the settings
it was sorted with, a run without an option takes OUT's, and an option given changes it for
this and later runs. `describe` says what a change costs, before the run pays it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Literal, get_args

from .cluster import DEFAULT_SETTINGS, ClusterSettings
from .detectors import DEFAULT as DEFAULT_DETECTOR
from .errors import OptionError

Detector = Literal["yunet", "hog", "cnn"]  # detectors.py: OpenCV's YuNet, dlib's HOG and CNN
Link = Literal["copy", "hard", "sym"]  # how a photo is placed in a person folder
AUTO = "auto"  # min_face and upsample: chosen per photo
EPS_RANGE = (0.1, 1.0)  # DBSCAN eps that can mean anything on dlib's embeddings
MIN_FACE_FLOOR = 20  # px: smaller faces carry no identity for dlib's descriptor
UPSAMPLE_RANGE = (0, 4)  # dlib upsamples by doubling: 4 is 256 times the pixels

# What OUT remembers, and each setting's value before anyone chose one.
DEFAULTS = {"detector": DEFAULT_DETECTOR, "upsample": AUTO, "min_face": AUTO,
            "eps": DEFAULT_SETTINGS.eps, "min_samples": DEFAULT_SETTINGS.min_samples,
            "min_photos": 1, "link": "copy", "blur": False, "page": True, "xmp": True}
DETECTION = ("detector", "upsample", "min_face")  # a change re-analyses every photo


@dataclass
class SortOptions:
    """The settings of a run. None: as OUT has it (see `resolved`). Values out of range
    raise OptionError on construction."""

    detector: Detector | None = None
    upsample: int | Literal["auto"] | None = None  # hog, cnn; auto: chosen from min_face
    min_face: int | Literal["auto"] | None = None  # px; auto: 1/40 of the long side, >= 40
    eps: float | None = None
    min_samples: int | None = None
    min_photos: int | None = None
    link: Link | None = None
    blur: bool | None = None
    page: bool | None = None  # write OUT/index.html, the review page
    xmp: bool | None = None  # an XMP sidecar naming the faces beside each photo of a named person
    workers: int | None = None
    dry_run: bool = False
    known: str | None = None  # folder of reference photos: KNOWN/<name>/*.jpg
    scheduler: str | None = None  # a Dask scheduler's address: the face stage runs there
    allow_removal: bool = False  # yes, the photos missing from PHOTOS are really gone
    prune: bool = False  # drop the analyses of missing photos now, not after the grace period

    def __post_init__(self) -> None:
        if self.detector is not None:
            _choice("detector", self.detector, get_args(Detector))
        if self.link is not None:
            _choice("link", self.link, get_args(Link))
        if self.eps is not None and (isinstance(self.eps, bool) or not isinstance(
                self.eps, int | float) or not EPS_RANGE[0] <= self.eps <= EPS_RANGE[1]):
            raise OptionError(f"eps must be a number from {EPS_RANGE[0]} to {EPS_RANGE[1]}, "
                              f"not {self.eps!r}")
        _whole("min_samples", self.min_samples, 1)
        _whole("min_photos", self.min_photos, 1)
        _whole("workers", self.workers, 1)
        if self.min_face != AUTO:
            _whole("min_face", self.min_face, MIN_FACE_FLOOR)
        if self.upsample != AUTO:
            _whole("upsample", self.upsample, *UPSAMPLE_RANGE)
        if self.detector == "yunet" and self.upsample not in (None, AUTO):
            raise OptionError("upsample is a setting of dlib's detectors (hog, cnn), not "
                              f"yunet's: {self.upsample!r}")

    @classmethod
    def stored(cls, options: dict) -> SortOptions:
        """Options as a run stored them in the state; before the detector choice, `model`."""
        options = dict(options)
        if "model" in options:
            options.setdefault("detector", options.pop("model"))
        return cls(**options)

    def resolved(self, saved: dict | None) -> SortOptions:
        """Every remembered setting not given taken from `saved` (OUT's), else its default."""
        saved = _renamed(saved or {})
        if self.detector == "yunet" and self.upsample is None:
            saved = {**saved, "upsample": AUTO}  # OUT's dlib upsampling means nothing to yunet
        return replace(self, **{
            name: value if (value := getattr(self, name)) is not None
            else saved.get(name, default) for name, default in DEFAULTS.items()})

    def remembered(self) -> dict:
        """The settings OUT keeps (of resolved options)."""
        return {name: getattr(self, name) for name in DEFAULTS}

    def model_settings(self) -> tuple[str, int | None, int | None]:
        """(detector, upsample, min_face) as detectors.make_embedder takes them: None for
        auto."""
        return (self.detector or DEFAULTS["detector"],
                None if self.upsample in (None, AUTO) else self.upsample,
                None if self.min_face in (None, AUTO) else self.min_face)

    def record(self) -> dict:
        """The options as the report and OUT's last run show them: None for auto."""
        detector, upsample, min_face = self.model_settings()
        return {**asdict(self), "detector": detector, "upsample": upsample,
                "min_face": min_face}

    def cluster_settings(self) -> ClusterSettings:
        return replace(DEFAULT_SETTINGS, eps=self.eps, min_samples=self.min_samples)


def saved_settings(last_run: dict | None, settings: dict | None) -> dict | None:
    """OUT's settings: as recorded, or, for an OUT sorted before they were, its last run's."""
    if settings is not None:
        return _renamed(settings)
    if last_run is None:
        return None
    options = _renamed(last_run["options"])
    return {name: AUTO if name in ("upsample", "min_face") and options.get(name) is None
            else options.get(name, default) for name, default in DEFAULTS.items()}


def _renamed(saved: dict) -> dict:
    """`model` was the detector's name before yunet; an OUT sorted then keeps its detector."""
    if "model" in saved and "detector" not in saved:
        saved = {**saved, "detector": saved["model"]}
    return {k: v for k, v in saved.items() if k != "model"}


def describe(given: SortOptions, saved: dict | None, reanalyse: int,
             blurred: int) -> list[str]:
    """What the options `given` change in OUT's `saved` settings, and what each costs:
    `reanalyse` photos are analysed again, `blurred` blurred copies exist."""
    if not saved:
        return []
    changed = {f.name: getattr(given, f.name) for f in fields(given)
               if f.name in DEFAULTS and getattr(given, f.name) is not None
               and getattr(given, f.name) != saved.get(f.name, DEFAULTS[f.name])}
    notes = []
    detection = [flag(name, changed[name]) for name in DETECTION if name in changed]
    if detection:
        was = " ".join(flag(n, saved.get(n, DEFAULTS[n])) for n in DETECTION if n in changed)
        notes.append(f"{' '.join(detection)} re-analyses {reanalyse:,} photos (OUT was "
                     f"sorted with {was}; going back re-analyses them again)")
    for name in ("eps", "min_samples"):
        if name in changed:
            notes.append(f"{flag(name, changed[name])} applies to faces without a person from "
                         "now on; people found so far keep their faces")
    if "min_photos" in changed:
        notes.append(f"{flag('min_photos', changed['min_photos'])}: people without a name "
                     f"in fewer than {changed['min_photos']} photos go to unknown/")
    if "blur" in changed:
        notes.append(f"--no-blur removes blurred/ ({blurred:,} files)" if not changed["blur"]
                     else "--blur writes a blurred copy of every photo to blurred/")
    if "page" in changed:
        notes.append("--no-page removes index.html" if not changed["page"]
                     else "--page writes the review page index.html")
    if "xmp" in changed:
        notes.append("--no-xmp removes the XMP sidecars (*.xmp) from OUT" if not changed["xmp"]
                     else "--xmp writes an XMP sidecar beside each photo of a named person")
    if "link" in changed:
        notes.append(f"{flag('link', changed['link'])}: photos are placed so from now on")
    if notes:
        notes.append("OUT keeps these settings for later runs")
    return notes


def in_force(options: SortOptions) -> str:
    """The resolved `options` that differ from a new OUT's, as flags: what a run without
    options keeps doing (`--min-face 60 --blur`: blurred/ is kept)."""
    return " ".join(flag(name, value) for name, value in options.remembered().items()
                    if value != DEFAULTS[name]) or "the defaults"


def flag(name: str, value) -> str:
    """A setting as the command line gives it: --min-face 60, --blur, --no-page."""
    option = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return option if value else f"--no-{name.replace('_', '-')}"
    return f"{option} {value}"


def _choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise OptionError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _whole(name: str, value, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low \
            or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise OptionError(f"{name} must be a whole number {allowed} or None, not {value!r}")
