"""Thermal properties of the back's tissues and of blood ([ComsolBioheat], [ItisDatabase]).

Units at this edge are SI as published (W/(m K), kg/m^3, J/(kg K), 1/s, W/m^3); the solvers convert to
mm internally with the helpers below.
"""

from dataclasses import dataclass

from laserdose.errors import InputError

# Blood, COMSOL bioheat library as used by the MCmatlab examples [ComsolBioheat] [S].
BLOOD_RHO_KG_PER_M3 = 1050.0
BLOOD_C_J_PER_KG_K = 3617.0
# Arterial blood and body core temperature [U]: the textbook 37 C, not taken from a cited table.
ARTERIAL_TEMPERATURE_C = 37.0


@dataclass(frozen=True)
class ThermalTissue:
    """Thermal properties of one homogeneous tissue.

    Attributes:
        k_w_per_m_k: thermal conductivity [W/(m K)].
        rho_kg_per_m3: density [kg/m^3].
        c_j_per_kg_k: specific heat capacity [J/(kg K)].
        perfusion_per_s: volumetric blood perfusion rate w [1/s] (m^3 blood per m^3 tissue per s).
        metabolic_w_per_m3: metabolic heat production [W/m^3].
    """

    k_w_per_m_k: float
    rho_kg_per_m3: float
    c_j_per_kg_k: float
    perfusion_per_s: float = 0.0
    metabolic_w_per_m3: float = 0.0

    def __post_init__(self) -> None:
        for name in ("k_w_per_m_k", "rho_kg_per_m3", "c_j_per_kg_k"):
            value = getattr(self, name)
            if not value > 0:
                raise InputError(f"{name} must be > 0, got {value:g}")
        for name in ("perfusion_per_s", "metabolic_w_per_m3"):
            value = getattr(self, name)
            if not value >= 0:
                raise InputError(f"{name} must be >= 0, got {value:g}")

    @property
    def k_w_per_mm_k(self) -> float:
        """Conductivity [W/(mm K)]."""
        return self.k_w_per_m_k * 1e-3

    @property
    def heat_capacity_j_per_mm3_k(self) -> float:
        """Volumetric heat capacity rho c [J/(mm^3 K)]."""
        return self.rho_kg_per_m3 * self.c_j_per_kg_k * 1e-9

    @property
    def perfusion_w_per_mm3_k(self) -> float:
        """Blood heat sink coefficient w rho_b c_b [W/(mm^3 K)]."""
        return self.perfusion_per_s * BLOOD_RHO_KG_PER_M3 * BLOOD_C_J_PER_KG_K * 1e-9

    @property
    def metabolic_w_per_mm3(self) -> float:
        """Metabolic heat [W/mm^3]."""
        return self.metabolic_w_per_m3 * 1e-9

    @property
    def diffusivity_mm2_per_s(self) -> float:
        """Thermal diffusivity kappa = k / (rho c) [mm^2/s]."""
        return self.k_w_per_mm_k / self.heat_capacity_j_per_mm3_k


def _per_s_from_ml_per_min_per_kg(ml_per_min_per_kg: float, rho_kg_per_m3: float) -> float:
    """Convert a perfusion given as mL blood / min / kg tissue to a volumetric rate [1/s]."""
    return ml_per_min_per_kg * 1e-6 / 60.0 * rho_kg_per_m3


# k, rho, c: COMSOL bioheat library, via MCmatlab examples [ComsolBioheat] [S/C].
# Perfusion: all of them [U] (starting values): skin ~2e-3 1/s,
# fat ~33 mL/min/kg, muscle ~37 mL/min/kg.
# Metabolic heat [U]: no cited source; typical textbook orders of magnitude (a few hundred W/m^3),
# they only shift the baseline by a few hundredths of a kelvin.
_SKIN = ThermalTissue(0.37, 1109.0, 3391.0, perfusion_per_s=2e-3, metabolic_w_per_m3=368.0)
TISSUES: dict[str, ThermalTissue] = {
    "skin": _SKIN,
    # Epidermis and dermis share the skin k, rho, c: no separate sourced values [ComsolBioheat].
    # The epidermis has no blood vessels, so no perfusion; its zero metabolic heat is a simplification [U].
    "epidermis": ThermalTissue(0.37, 1109.0, 3391.0, perfusion_per_s=0.0, metabolic_w_per_m3=0.0),
    "dermis": _SKIN,
    "fat": ThermalTissue(
        0.21,
        911.0,
        2348.0,
        perfusion_per_s=_per_s_from_ml_per_min_per_kg(33.0, 911.0),
        metabolic_w_per_m3=58.0,
    ),
    "muscle": ThermalTissue(
        0.49,
        1090.0,
        3421.0,
        perfusion_per_s=_per_s_from_ml_per_min_per_kg(37.0, 1090.0),
        metabolic_w_per_m3=684.0,
    ),
    # Cortical bone [U] [ItisDatabase]. k, rho, c and perfusion (10 mL/min/kg) are the
    # IT'IS Foundation tissue database values (Hasgall et al., v4.1, "Bone (Cortical)"), unverified here.
    # Only the back model's deepest layer uses it, far below where the laser heats.
    "bone": ThermalTissue(
        0.32,
        1908.0,
        1313.0,
        perfusion_per_s=_per_s_from_ml_per_min_per_kg(10.0, 1908.0),
        metabolic_w_per_m3=0.0,
    ),
}


def tissue(name: str) -> ThermalTissue:
    """Return the thermal properties of a named tissue; raise InputError listing the known names."""
    if name not in TISSUES:
        raise InputError(f"unknown tissue {name!r}; allowed: {', '.join(sorted(TISSUES))}")
    return TISSUES[name]
