"""Layered tissue, beams and the scoring grid for photon transport (MCML geometry, Wang et al. 1995).

The tissue is a stack of laterally infinite, homogeneous layers below the plane z = 0; z grows into the
tissue. Light arrives from the medium above (index `n_above`) and may leave into the medium below
(`n_below`). Every value is validated here so that bad input never reaches a kernel (docs/design.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from laserdose.errors import InputError


def _require_finite(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Layer:
    """One tissue layer of a stack, homogeneous and laterally infinite.

    Attributes:
        thickness_mm: thickness [mm]; None for a semi-infinite last layer.
        mua_per_mm: absorption coefficient [1/mm].
        mus_per_mm: scattering coefficient [1/mm].
        g: scattering anisotropy, mean cosine of the scattering angle [-].
        n: refractive index [-].
    """

    thickness_mm: float | None
    mua_per_mm: float
    mus_per_mm: float
    g: float
    n: float

    def __post_init__(self) -> None:
        if self.thickness_mm is not None and not _require_finite("thickness_mm", self.thickness_mm) > 0:
            raise InputError(
                f"thickness_mm must be > 0 (or null for semi-infinite), got {self.thickness_mm:g}"
            )
        if _require_finite("mua_per_mm", self.mua_per_mm) < 0:
            raise InputError(f"mua_per_mm must be >= 0, got {self.mua_per_mm:g}")
        if _require_finite("mus_per_mm", self.mus_per_mm) < 0:
            raise InputError(f"mus_per_mm must be >= 0, got {self.mus_per_mm:g}")
        if not -1 < _require_finite("g", self.g) < 1:
            raise InputError(f"g must be strictly between -1 and 1, got {self.g:g}")
        if _require_finite("n", self.n) < 1:
            raise InputError(f"n must be >= 1, got {self.n:g}")

    @property
    def semi_infinite(self) -> bool:
        """True when the layer extends to infinite depth."""
        return self.thickness_mm is None


@dataclass(frozen=True)
class Stack:
    """Layers from the surface down, between a medium above and a medium below.

    Attributes:
        layers: the layers, top first; only the last may be semi-infinite.
        n_above: refractive index of the medium the light comes from [-].
        n_below: refractive index of the medium under the last layer [-] (unused if it is semi-infinite).
    """

    layers: tuple[Layer, ...]
    n_above: float = 1.0
    n_below: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple) or not self.layers:
            raise InputError("a stack needs at least one layer (a non-empty tuple of Layer)")
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise InputError(f"layer {index + 1} is not a Layer")
            if layer.semi_infinite and index != len(self.layers) - 1:
                raise InputError(f"only the last layer may be semi-infinite; layer {index + 1} is not last")
        for name in ("n_above", "n_below"):
            if _require_finite(name, getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name):g}")

    @property
    def boundaries_mm(self) -> tuple[float, ...]:
        """Depths of the layer boundaries, surface first [mm]; inf closes a semi-infinite last layer."""
        depths = [0.0]
        for layer in self.layers:
            depths.append(math.inf if layer.thickness_mm is None else depths[-1] + layer.thickness_mm)
        return tuple(depths)

    @classmethod
    def from_json_dict(cls, data: Any) -> Stack:
        """Build a stack from the stack.json form (see docs/guide/simulate.md).

        Args:
            data: `{"n_above": 1.0, "n_below": 1.0, "layers": [{"thickness_mm": 0.2 or null, "mua_per_mm",
                "mus_per_mm", "g", "n"}, ...]}`. Keys starting with "_" are comments and ignored.

        Raises:
            InputError: for a missing or unknown key, a wrong type or an unphysical value.
        """
        if not isinstance(data, dict):
            raise InputError("stack must be a JSON object with a 'layers' list")
        unknown = {key for key in data if not str(key).startswith("_")} - {"n_above", "n_below", "layers"}
        if unknown:
            raise InputError(f"unknown stack keys {sorted(unknown)}; allowed: n_above, n_below, layers")
        raw_layers = data.get("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            raise InputError("stack 'layers' must be a non-empty list")
        layers = tuple(_layer_from_dict(index, item) for index, item in enumerate(raw_layers))
        return cls(layers, n_above=data.get("n_above", 1.0), n_below=data.get("n_below", 1.0))

    @classmethod
    def from_layers(cls, layers: Sequence[OpticalLayer], n_above: float = 1.0) -> Stack:
        """A stack of tissue layers described elsewhere (e.g. the optics back model), layer by layer.

        The medium below takes the last layer's index, so a semi-infinite last layer (bone) ends the stack.

        Args:
            layers: the layers, top first; each has thickness_mm (None: semi-infinite), mua_per_mm,
                mus_per_mm, g and n.
            n_above: refractive index of the medium the light comes from [-] (air by default).
        """
        converted = tuple(
            Layer(layer.thickness_mm, layer.mua_per_mm, layer.mus_per_mm, layer.g, layer.n)
            for layer in layers
        )
        if not converted:
            raise InputError("a stack needs at least one layer")
        return cls(layers=converted, n_above=n_above, n_below=converted[-1].n)


class OpticalLayer(Protocol):
    """What a layer must tell to join a stack: its thickness [mm] and optical properties."""

    @property
    def thickness_mm(self) -> float | None:
        """Thickness [mm]; None for a semi-infinite last layer."""

    @property
    def mua_per_mm(self) -> float:
        """Absorption coefficient [1/mm]."""

    @property
    def mus_per_mm(self) -> float:
        """Scattering coefficient [1/mm]."""

    @property
    def g(self) -> float:
        """Scattering anisotropy [-]."""

    @property
    def n(self) -> float:
        """Refractive index [-]."""


_LAYER_KEYS = ("thickness_mm", "mua_per_mm", "mus_per_mm", "g", "n")


def _layer_from_dict(index: int, item: Any) -> Layer:
    if not isinstance(item, dict):
        raise InputError(f"layer {index + 1} must be an object with keys {', '.join(_LAYER_KEYS)}")
    missing = [key for key in _LAYER_KEYS if key not in item]
    extra = sorted(set(item) - set(_LAYER_KEYS) - {"name"})
    if missing or extra:
        raise InputError(f"layer {index + 1}: missing keys {missing}, unknown keys {extra}")
    try:
        return Layer(**{key: item[key] for key in _LAYER_KEYS})
    except InputError as exc:
        raise InputError(f"layer {index + 1}: {exc}") from None


@dataclass(frozen=True)
class PencilBeam:
    """An infinitely narrow collimated beam at normal incidence on the axis r = 0."""


@dataclass(frozen=True)
class FlatBeam:
    """A collimated flat-top (uniform disk) beam at normal incidence.

    Attributes:
        diameter_mm: diameter of the disk [mm].
    """

    diameter_mm: float

    def __post_init__(self) -> None:
        if not _require_finite("diameter_mm", self.diameter_mm) > 0:
            raise InputError(f"flat beam diameter_mm must be > 0, got {self.diameter_mm:g}")


@dataclass(frozen=True)
class GaussianBeam:
    """A collimated Gaussian beam at normal incidence, I(r) ~ exp(-8 r^2 / D^2).

    Attributes:
        diameter_1e2_mm: diameter at which the irradiance falls to 1/e^2 of its peak [mm].
    """

    diameter_1e2_mm: float

    def __post_init__(self) -> None:
        if not _require_finite("diameter_1e2_mm", self.diameter_1e2_mm) > 0:
            raise InputError(f"Gaussian beam diameter_1e2_mm must be > 0, got {self.diameter_1e2_mm:g}")


@dataclass(frozen=True)
class FibreBeam:
    """A divergent beam from a bare fibre (or fibre handpiece) held above the skin.

    Each photon leaves a uniform point on the core face, in a direction uniform in solid angle within the
    cone sin(theta) <= NA / n_above, and travels straight through the medium above to the surface.
    A stand-off of 0 is contact: the photons start on the surface.

    Attributes:
        numerical_aperture: NA of the fibre in the medium above [-], 0 < NA < n_above.
        standoff_mm: distance from the fibre face to the skin [mm], >= 0.
        core_diameter_mm: diameter of the emitting core [mm], >= 0 (0: a point source).
    """

    numerical_aperture: float
    standoff_mm: float
    core_diameter_mm: float

    def __post_init__(self) -> None:
        if not 0 < _require_finite("numerical_aperture", self.numerical_aperture) < 1:
            raise InputError(f"numerical_aperture must be between 0 and 1, got {self.numerical_aperture:g}")
        if _require_finite("standoff_mm", self.standoff_mm) < 0:
            raise InputError(f"standoff_mm must be >= 0, got {self.standoff_mm:g}")
        if _require_finite("core_diameter_mm", self.core_diameter_mm) < 0:
            raise InputError(f"core_diameter_mm must be >= 0, got {self.core_diameter_mm:g}")


Beam = PencilBeam | FlatBeam | GaussianBeam | FibreBeam


@dataclass(frozen=True)
class Grid:
    """Cylindrical r-z scoring grid about the beam axis (MCML's A(r, z), Wang et al. 1995).

    Bins are [i dr, (i+1) dr) x [j dz, (j+1) dz); absorption outside the grid counts in the totals only.

    Attributes:
        dr_mm: radial bin width [mm].
        nr: number of radial bins.
        dz_mm: depth bin height [mm].
        nz: number of depth bins.
    """

    dr_mm: float = 0.1
    nr: int = 100
    dz_mm: float = 0.1
    nz: int = 100

    def __post_init__(self) -> None:
        for name in ("dr_mm", "dz_mm"):
            if not _require_finite(name, getattr(self, name)) > 0:
                raise InputError(f"grid {name} must be > 0, got {getattr(self, name):g}")
        for name in ("nr", "nz"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
                raise InputError(f"grid {name} must be an integer between 1 and 10000, got {value!r}")


def beam_from_spec(spec: str) -> Beam:
    """Parse the CLI's beam form: "pencil", "flat:D_MM", "gauss:D_1E2_MM" or "fibre:NA:STANDOFF_MM:CORE_MM".

    Raises:
        InputError: for an unknown kind, a wrong number of fields or a bad value.
    """
    kind, *fields = spec.strip().lower().split(":")
    expected = {"pencil": 0, "flat": 1, "gauss": 1, "fibre": 3}
    if kind not in expected:
        raise InputError(
            f"unknown beam {spec!r}; allowed: pencil, flat:D_MM, gauss:D_MM, fibre:NA:STANDOFF_MM:CORE_MM"
        )
    if len(fields) != expected[kind]:
        raise InputError(f"beam {kind!r} takes {expected[kind]} number(s) after ':', got {spec!r}")
    try:
        numbers = [float(field) for field in fields]
    except ValueError:
        raise InputError(f"beam {spec!r}: the fields after ':' must be numbers") from None
    if kind == "flat":
        return FlatBeam(numbers[0])
    if kind == "gauss":
        return GaussianBeam(numbers[0])
    if kind == "fibre":
        return FibreBeam(*numbers)
    return PencilBeam()
