"""Device profiles: what an OEM machine can do, loaded from TOML and validated strictly.

A profile names the machine and its maker, the wavelengths with the maximum power of each, the emission
modes (CW; pulsed with frequency and duty-cycle ranges), the handpieces and the safety features. Shipped
profiles are addressed by name (`15w-dual`); any other by a file path.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from laserdose.domain.quantities import POWER, WAVELENGTH, Quantity
from laserdose.errors import InputError, require_finite
from laserdose.files import parse_toml

EMISSION_MODES = ("cw", "pulsed")
# Relative slack on the machine's power maxima: the planner scales powers onto a limit, which holds
# only to rounding (a nanowatt in watts); anything above it is a power the machine cannot give.
POWER_LIMIT_ROUNDING = 1e-9
SAFETY_FEATURES = (
    "key-switch",
    "remote-interlock",
    "emergency-stop",
    "emission-indicator",
    "shutter",
    "guarded-footswitch",
    "aiming-beam",
    "power-monitor",
    "watchdog",
)


@dataclass(frozen=True)
class Source:
    """One laser source of the machine.

    Attributes:
        wavelength_nm: emission wavelength, whole nm in the domain's WAVELENGTH range [nm].
        max_power_w: largest settable output power [W].
        min_power_w: smallest settable output power above zero [W].
    """

    wavelength_nm: int
    max_power_w: float
    min_power_w: float


@dataclass(frozen=True)
class PulsedMode:
    """Ranges of the pulsed emission mode.

    Attributes:
        frequency_hz: smallest and largest pulse repetition frequency [Hz].
        duty_cycle: smallest and largest fraction of each period with emission [-].
    """

    frequency_hz: tuple[float, float]
    duty_cycle: tuple[float, float]


@dataclass(frozen=True)
class Handpiece:
    """A handpiece (applicator) of the machine.

    Attributes:
        name: identifier used in plans.
        beam_diameter_mm: beam diameter at the skin [mm] (flat-top unless `profile` says otherwise).
        contact: True when the handpiece touches the skin.
        standoff_mm: distance from the aperture to the skin [mm]; 0 for contact.
        divergence_mrad: full-angle beam divergence leaving the aperture [mrad].
        beam_profile: "flat" or "gaussian".
    """

    name: str
    beam_diameter_mm: float
    contact: bool
    standoff_mm: float
    divergence_mrad: float
    beam_profile: str


@dataclass(frozen=True)
class DeviceProfile:
    """A machine as its maker describes it.

    Attributes:
        name: short identifier (the file name of a shipped profile).
        model: the maker's model name.
        manufacturer: the maker's name, shown on the console and the reports.
        logo: the maker's logo (an SVG file) as an absolute path, an URL, or "" for none. A profile file
            may give a path relative to its own folder; loading resolves it. A PNG of the same name
            beside the SVG, if present, is what PDF reports use (matplotlib cannot draw SVG).
        laser_class: the class the maker declares ("4", "3B", ...).
        max_total_power_w: largest total output of all sources together [W].
        sources: the laser sources, by wavelength.
        cw: True if continuous emission is offered.
        pulsed: ranges of pulsed emission, or None if not offered.
        handpieces: the handpieces.
        safety_features: the features named in SAFETY_FEATURES that the machine has.
    """

    name: str
    model: str
    manufacturer: str
    logo: str
    laser_class: str
    max_total_power_w: float
    sources: tuple[Source, ...]
    cw: bool
    pulsed: PulsedMode | None
    handpieces: tuple[Handpiece, ...]
    safety_features: tuple[str, ...]

    def source(self, wavelength_nm: float) -> Source:
        """The source at `wavelength_nm`, or InputError listing the machine's wavelengths."""
        for source in self.sources:
            if source.wavelength_nm == wavelength_nm:
                return source
        have = ", ".join(f"{s.wavelength_nm:g}" for s in self.sources)
        raise InputError(f"{self.name} has no {wavelength_nm:g} nm source; it has {have} nm")

    def handpiece(self, name: str) -> Handpiece:
        """The handpiece called `name`, or InputError listing the machine's handpieces."""
        for handpiece in self.handpieces:
            if handpiece.name == name:
                return handpiece
        have = ", ".join(h.name for h in self.handpieces)
        raise InputError(f"{self.name} has no handpiece {name!r}; it has {have}")

    @property
    def wavelengths_nm(self) -> tuple[int, ...]:
        """The machine's wavelengths, whole nm [nm]."""
        return tuple(source.wavelength_nm for source in self.sources)


def shipped_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped with laserdose."""
    folder = resources.files("laserdose.machines") / "profiles"
    return tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """Load a shipped profile by name, or a profile file by path.

    Raises:
        InputError: the profile does not exist, is not TOML, or is inconsistent.
    """
    text, name, folder = _read(str(name_or_path))
    profile = parse_profile(parse_toml(text, f"device profile {name}"), name)
    if profile.logo and "://" not in profile.logo and not Path(profile.logo).is_absolute():
        profile = replace(profile, logo=str(Path(folder) / profile.logo))
    return profile


def logo_png(profile: DeviceProfile) -> Path | None:
    """The PNG rendering of the profile's logo (same name as the SVG, beside it), or None."""
    if not profile.logo or "://" in profile.logo:
        return None
    png = Path(profile.logo).with_suffix(".png")
    return png if png.is_file() else None


def _read(name_or_path: str) -> tuple[str, str, str]:
    """The profile's text, its name and the folder that relative paths in it start from."""
    if name_or_path in shipped_profiles():
        folder = resources.files("laserdose.machines") / "profiles"
        text = (folder / f"{name_or_path}.toml").read_text(encoding="utf-8")
        return text, name_or_path, str(folder)
    path = Path(name_or_path)
    shipped = ", ".join(shipped_profiles())
    shown = name_or_path if len(name_or_path) <= 80 else name_or_path[:77] + "..."
    try:
        if not path.is_file():
            raise InputError(f"no device profile {shown!r}: give a file path or one of {shipped}")
        return path.read_text(encoding="utf-8"), path.stem, str(path.resolve().parent)
    except (OSError, UnicodeDecodeError) as exc:  # a name too long for a path, unreadable, not UTF-8
        raise InputError(f"cannot read device profile {shown!r}: {exc.__class__.__name__}") from None


def parse_profile(data: dict[str, Any], name: str) -> DeviceProfile:
    """Build a DeviceProfile from parsed TOML, raising InputError naming the first bad field."""
    fields = _Fields(data, f"device profile {name}")
    sources = tuple(_source(fields.table(f"sources[{i}]", s)) for i, s in enumerate(fields.list("sources")))
    if not sources:
        raise InputError(f"device profile {name}: sources must list at least one source")
    wavelengths = [s.wavelength_nm for s in sources]
    if len(set(wavelengths)) != len(wavelengths):
        raise InputError(f"device profile {name}: sources lists a wavelength twice")
    modes = fields.list("modes")
    for mode in modes:
        if mode not in EMISSION_MODES:
            allowed = ", ".join(EMISSION_MODES)
            raise InputError(f"device profile {name}: unknown mode {mode!r}; allowed: {allowed}")
    pulsed = _pulsed(fields.table("pulsed", data.get("pulsed"))) if "pulsed" in modes else None
    handpieces = tuple(
        _handpiece(fields.table(f"handpieces[{i}]", h)) for i, h in enumerate(fields.list("handpieces"))
    )
    if not handpieces:
        raise InputError(f"device profile {name}: handpieces must list at least one handpiece")
    features = tuple(fields.list("safety_features"))
    for feature in features:
        if feature not in SAFETY_FEATURES:
            allowed = ", ".join(SAFETY_FEATURES)
            raise InputError(f"device profile {name}: unknown safety feature {feature!r}; allowed: {allowed}")
    max_total = fields.power("max_total_power_w")
    if max_total < max(s.max_power_w for s in sources) - 1e-9:
        raise InputError(f"device profile {name}: max_total_power_w is below the largest source's maximum")
    return DeviceProfile(
        name=name,
        model=fields.text("model"),
        manufacturer=fields.text("manufacturer"),
        logo=str(data.get("logo", "")),
        laser_class=fields.text("laser_class"),
        max_total_power_w=max_total,
        sources=sources,
        cw="cw" in modes,
        pulsed=pulsed,
        handpieces=handpieces,
        safety_features=features,
    )


def _source(fields: "_Fields") -> Source:
    max_power = fields.power("max_power_w")
    min_power = fields.number("min_power_w", 0.0, max_power)
    wavelength = fields.quantity("wavelength_nm", WAVELENGTH)
    if wavelength != int(wavelength):  # it keys powers and energies: whole nm (domain/wavelengths.py)
        raise InputError(f"{fields.where}: wavelength_nm must be a whole number of nm, got {wavelength:g}")
    return Source(int(wavelength), max_power, min_power)


def _pulsed(fields: "_Fields") -> PulsedMode:
    return PulsedMode(
        frequency_hz=fields.interval("frequency_hz", 0.0, 1e9),
        duty_cycle=fields.interval("duty_cycle", 0.0, 1.0),
    )


def _handpiece(fields: "_Fields") -> Handpiece:
    contact = fields.flag("contact")
    standoff = 0.0 if contact else fields.number("standoff_mm", 0.0, 1000.0, exclusive_low=True)
    profile = fields.text("beam_profile")
    if profile not in ("flat", "gaussian"):
        raise InputError(f"{fields.where}: beam_profile must be flat or gaussian, got {profile!r}")
    return Handpiece(
        name=fields.text("name"),
        beam_diameter_mm=fields.number("beam_diameter_mm", 0.0, 500.0, exclusive_low=True),
        contact=contact,
        standoff_mm=standoff,
        divergence_mrad=fields.number("divergence_mrad", 0.0, 3000.0),
        beam_profile=profile,
    )


class _Fields:
    """Typed access to one TOML table; every failure names the field."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise InputError(f"{self.where}: missing field {key}")
        return self.data[key]

    def table(self, key: str, value: Any) -> "_Fields":
        if not isinstance(value, dict):
            raise InputError(f"{self.where}: {key} must be a table")
        return _Fields(value, f"{self.where}: {key}")

    def list(self, key: str) -> list[Any]:
        value = self._get(key)
        if not isinstance(value, list):
            raise InputError(f"{self.where}: {key} must be a list")
        return value

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise InputError(f"{self.where}: {key} must be a non-empty string")
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise InputError(f"{self.where}: {key} must be true or false")
        return value

    def number(self, key: str, low: float, high: float, exclusive_low: bool = False) -> float:
        value = require_finite(f"{self.where}: {key}", self._get(key))
        too_low = value <= low if exclusive_low else value < low
        if too_low or value > high:
            bound = ">" if exclusive_low else ">="
            raise InputError(f"{self.where}: {key} must be {bound} {low:g} and <= {high:g}, got {value:g}")
        return float(value)

    def quantity(self, key: str, quantity: Quantity) -> float:
        """The field checked as a domain quantity; the message names the profile and the field."""
        value = self._get(key)
        try:
            return quantity.check(value)
        except InputError as exc:
            raise InputError(f"{self.where}: {key}: {exc}") from None

    def power(self, key: str) -> float:
        """A machine's largest power: a domain POWER above zero [W]."""
        value = self.quantity(key, POWER)
        if value <= 0.0:
            raise InputError(f"{self.where}: {key} must be > 0 W, got {value:g} W")
        return value

    def interval(self, key: str, low: float, high: float) -> tuple[float, float]:
        value = self._get(key)
        ok = isinstance(value, list) and len(value) == 2
        ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if not ok or not low < value[0] <= value[1] <= high:
            raise InputError(f"{self.where}: {key} must be [min, max] with {low:g} < min <= max <= {high:g}")
        return float(value[0]), float(value[1])


def machine_limit_problem(
    profile: DeviceProfile,
    power_w_by_wavelength: Mapping[float, float] | Mapping[int, float],
    mode: str,
    frequency_hz: float,
    duty_cycle: float,
    handpiece: str,
) -> str | None:
    """What the machine cannot do of these settings, or None: the one check of a machine's limits.

    The plan signing gate, the device layer's plan check and the machine's own SET_PARAMS all use it.

    Args:
        profile: the machine.
        power_w_by_wavelength: peak power per wavelength [W]; 0 switches a source off.
        mode: "cw" or "pulsed".
        frequency_hz: pulse repetition frequency [Hz] (0 for cw).
        duty_cycle: fraction of each period with emission [-] (1 for cw).
        handpiece: handpiece name.
    """
    slack = 1.0 + POWER_LIMIT_ROUNDING
    for wavelength, power in power_w_by_wavelength.items():
        if wavelength not in profile.wavelengths_nm:
            return f"no {wavelength:g} nm source (have {', '.join(f'{w:g}' for w in profile.wavelengths_nm)})"
        source = profile.source(wavelength)
        if power != 0.0 and not source.min_power_w <= power <= source.max_power_w * slack:  # 0 = source off
            return (
                f"{wavelength:g} nm power {power:g} W outside {source.min_power_w:g}-{source.max_power_w:g} W"
            )
    total = sum(power_w_by_wavelength.values())
    if total > profile.max_total_power_w * slack:
        return f"total power {total:g} W above the machine's {profile.max_total_power_w:g} W"
    if total <= 0.0:
        return "all powers are zero"
    problem = _mode_problem(profile, mode, frequency_hz, duty_cycle)
    if problem is None and handpiece not in [h.name for h in profile.handpieces]:
        return f"no handpiece {handpiece!r} (have {', '.join(h.name for h in profile.handpieces)})"
    return problem


def _mode_problem(profile: DeviceProfile, mode: str, frequency_hz: float, duty_cycle: float) -> str | None:
    if mode == "cw":
        if not profile.cw:
            return "the machine has no cw mode"
        if frequency_hz != 0.0 or duty_cycle != 1.0:
            return "cw needs frequency_hz 0 and duty_cycle 1"
        return None
    if mode != "pulsed":
        return f"mode {mode!r} is neither cw nor pulsed"
    if profile.pulsed is None:
        return "the machine has no pulsed mode"
    (f_low, f_high), (d_low, d_high) = profile.pulsed.frequency_hz, profile.pulsed.duty_cycle
    if not f_low <= frequency_hz <= f_high:
        return f"frequency {frequency_hz:g} Hz outside {f_low:g}-{f_high:g} Hz"
    if not d_low <= duty_cycle <= d_high:
        return f"duty cycle {duty_cycle:g} outside {d_low:g}-{d_high:g}"
    return None
