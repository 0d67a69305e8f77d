"""Set up the two measured skin-heating studies ([Alayat2019], [Joensen2011]) and print the model's rises.

Alayat 2019: pulsed 1064 nm high-intensity laser, 3000 J over 150 cm^2 in 15 min; skin +1.2 to +4.0 C.
Joensen 2011: 810 nm, 200 mW, 2-12 J (10-60 s) per point; dark skin up to +22.3 C.
The kernel is the real one: the transport engine's Monte Carlo run on the optics back model, whose layers
are also the thermal layers ([kernel] kind "monte-carlo"). Neither paper gives everything the model needs
(spot size, hand speed, skin type, fat); the assumed values are printed with the results.
Run: .venv/bin/python docs/scripts/thermal_clinical.py   (about 5 minutes on 2 cores)
"""

import numpy as np

from laserdose.thermal.bioheat import StationaryCase, solve_stationary
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.grid import graded_edges
from laserdose.thermal.mc_kernel import MonteCarloKernel, monte_carlo_kernel
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.scanned import ScannedCase, scanned_z_edges, solve_scanned
from laserdose.thermal.source import Emission

AIR = Boundaries("convective", h_w_per_m2_k=10.0, ambient_c=25.0, core_c=37.0)
PHOTONS = 100_000


def _kernel(skin_type: int, wavelength_nm: float, beam: str, bmi: float) -> MonteCarloKernel:
    """The Monte Carlo kernel and back model of one assumed patient and beam."""
    table = {"kind": "monte-carlo", "skin_type": skin_type, "bmi": bmi, "beam": beam, "photons": PHOTONS}
    return monte_carlo_kernel(table | {"seed": 1}, wavelength_nm)


def joensen() -> None:
    """Stationary 810 nm probe on dark skin, 60 s."""
    print("Joensen 2011: 810 nm, 200 mW, 60 s (12 J), dark skin; measured up to +22.3 C")
    for skin_type in (5, 6):
        for radius in (1.0, 2.0, 3.0):
            mc = _kernel(skin_type, 810.0, f"flat:{2 * radius:g}", 25.0)
            r_edges = graded_edges(float(mc.kernel.r_edges_mm[-1]) + 10.0, radius / 40, 1.0, 1.1)
            z_edges = scanned_z_edges(mc.medium, 30.0)
            case = StationaryCase(mc.medium, mc.kernel, Emission(0.2), AIR, r_edges, z_edges, 60.0, 0.05)
            result = solve_stationary(case)
            epi = mc.transport.absorbed_by_layer[0]
            print(
                f"  type {skin_type}, flat spot radius {radius:.0f} mm: absorbed {mc.transport.absorbed:.0%} "
                f"(epidermis {epi:.0%}); peak surface rise {result.peak_surface_rise_k.max():5.1f} K"
            )


def alayat() -> None:
    """Scanned 1064 nm high-intensity laser over 150 cm^2 for 15 min."""
    print("Alayat 2019: 1064 nm, 3000 J over 150 cm^2 in 15 min (3.33 W mean); measured +1.2 to +4.0 C")
    for skin_type, bmi in ((3, 25.0), (4, 30.0)):
        mc = _kernel(skin_type, 1064.0, "gauss:14", bmi)
        path = ScanPath("zigzag", 100.0, 150.0, 50.0, 10.0)
        case = ScannedCase(
            mc.medium,
            mc.kernel,
            Emission(3.333),
            AIR,
            path,
            900.0,
            dt_s=0.1,
            dx_mm=2.0,
            save_times_s=(900.0,),
        )
        result = solve_scanned(case)
        surface = result.surface_maps_c[900.0]
        xc = 0.5 * (result.x_edges_mm[1:] + result.x_edges_mm[:-1])
        yc = 0.5 * (result.y_edges_mm[1:] + result.y_edges_mm[:-1])
        inside = (np.abs(xc)[:, None] <= 50) & (np.abs(yc)[None, :] <= 75)
        mean_rise = float(surface[inside].mean() - result.baseline_surface_c)
        peak_rise = float(result.peak_surface_c.max() - result.baseline_surface_c)
        print(
            f"  type {skin_type}, BMI {bmi:g} (fat {mc.back.fat_mm:.1f} mm), gauss 14 mm (1/e^2 diameter), "
            f"zig-zag 50 mm/s: absorbed {mc.transport.absorbed:.0%}; area-mean rise at 15 min "
            f"{mean_rise:.1f} K, peak rise under the beam {peak_rise:.1f} K ({result.wall_s:.0f} s)"
        )


if __name__ == "__main__":
    joensen()
    alayat()
