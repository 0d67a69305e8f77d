"""Set up the two measured skin-heating studies of REFERENCES.md section 3 and print the model's rises.

Alayat 2019: pulsed 1064 nm high-intensity laser, 3000 J over 150 cm^2 in 15 min; skin +1.2 to +4.0 C.
Joensen 2011: 810 nm, 200 mW, 2-12 J (10-60 s) per point; dark skin up to +22.3 C.
Neither paper gives everything the model needs (spot size, hand speed, optical absorption profile); the
assumed values are printed with the results. The kernels are analytic stand-ins for the Monte Carlo one.
Run: .venv/bin/python docs/scripts/thermal_clinical.py   (about 2-3 minutes on 2 cores)
"""

import numpy as np

from laserdose.thermal.bioheat import StationaryCase, solve_stationary
from laserdose.thermal.boundary import Boundaries
from laserdose.thermal.grid import LayeredMedium, graded_edges
from laserdose.thermal.properties import tissue
from laserdose.thermal.scan import ScanPath
from laserdose.thermal.scanned import ScannedCase, scanned_z_edges, solve_scanned
from laserdose.thermal.source import AbsorbedKernel, Emission, analytic_kernel, radial_profile

BACK = LayeredMedium(
    (0.1, 1.9, 8.0),
    tuple(tissue(n) for n in ("epidermis", "dermis", "fat", "muscle")),
    ("epi", "derm", "fat", "mus"),
)
AIR = Boundaries("convective", h_w_per_m2_k=10.0, ambient_c=25.0, core_c=37.0)


def joensen_kernel(radius_mm: float, epidermal_fraction: float, dermal_fraction: float) -> AbsorbedKernel:
    """Flat beam; `epidermal_fraction` absorbed evenly in the top 0.1 mm (melanin), the rest decaying with
    mu_eff = sqrt(3 mua (mua + mus')) = 0.55/mm from Cassano 2019 skin at 810 nm (mua 0.045, mus' 2.18)."""
    r = graded_edges(radius_mm, radius_mm / 30, radius_mm / 10, 1.0)
    z = graded_edges(15.0, 0.01, 0.2, 1.1)
    z = np.unique(np.append(z, 0.1))
    profile = radial_profile(r, radius_mm, "flat")
    dermal = analytic_kernel(r, z, radius_mm, "flat", 0.55, dermal_fraction).absorbed_density_per_mm3
    top = np.where(z[1:] <= 0.1 + 1e-12, 1.0 / 0.1, 0.0)
    return AbsorbedKernel(r, z, dermal + epidermal_fraction * np.outer(profile, top))


def joensen() -> None:
    print("Joensen 2011: 810 nm, 200 mW, 60 s (12 J), dark skin; measured up to +22.3 C")
    for radius in (1.0, 2.0, 3.0):
        for epi in (0.2, 0.4):
            kernel = joensen_kernel(radius, epi, 0.45)
            r_edges = graded_edges(radius + 25.0, radius / 40, 1.0, 1.1)
            case = StationaryCase(
                BACK, kernel, Emission(0.2), AIR, r_edges, scanned_z_edges(BACK, 25.0), 60.0, 0.05
            )
            result = solve_stationary(case)
            print(
                f"  spot radius {radius:.0f} mm, epidermis absorbs {epi:.0%}, dermis 45 %: "
                f"peak surface rise {result.peak_surface_rise_k.max():5.1f} K"
            )


def alayat() -> None:
    print("Alayat 2019: 1064 nm, 3000 J over 150 cm^2 in 15 min (3.33 W mean); measured +1.2 to +4.0 C")
    for mu_eff, fraction in ((0.32, 0.5), (0.32, 0.7)):
        kernel = analytic_kernel(
            graded_edges(15.0, 0.1, 0.5), graded_edges(40.0, 0.02, 0.5), 5.0, "gaussian", mu_eff, fraction
        )
        path = ScanPath("zigzag", 100.0, 150.0, 50.0, 10.0)
        case = ScannedCase(
            BACK, kernel, Emission(3.333), AIR, path, 900.0, dt_s=0.1, dx_mm=2.0, save_times_s=(900.0,)
        )
        result = solve_scanned(case)
        surface = result.surface_maps_c[900.0]
        xc = 0.5 * (result.x_edges_mm[1:] + result.x_edges_mm[:-1])
        yc = 0.5 * (result.y_edges_mm[1:] + result.y_edges_mm[:-1])
        inside = (np.abs(xc)[:, None] <= 50) & (np.abs(yc)[None, :] <= 75)
        mean_rise = float(surface[inside].mean() - result.baseline_surface_c)
        peak_rise = float(result.peak_surface_c.max() - result.baseline_surface_c)
        print(
            f"  mu_eff {mu_eff}/mm, absorbed {fraction:.0%}, spot 1/e radius 5 mm, zig-zag 50 mm/s: "
            f"area-mean rise at 15 min {mean_rise:.1f} K, peak rise under the beam {peak_rise:.1f} K "
            f"({result.wall_s:.0f} s)"
        )


if __name__ == "__main__":
    joensen()
    alayat()
