"""A tiny synthetic fluence table for the web tests while the shipped Monte Carlo table is not in the tree.

It is no physics claim: F(z; R) decays as exp(-z / 14 mm) under a disk, enough for the planner, its curves
and the report to run end to end on every shipped device. Tests that check numbers compare the page with
the planner's own output for the same inputs, never with this table's values.
"""

from __future__ import annotations

import numpy as np

from laserdose.planning.physics import TablePhysics
from laserdose.transport.tables import FluenceTable

WAVELENGTHS_NM = (650.0, 810.0, 915.0, 980.0, 1064.0)
DECAY_LENGTH_MM = 14.0


def synthetic_physics() -> TablePhysics:
    """TablePhysics on a small analytic table: skin types 1-6, fat 2-45 mm, radii 5-100 mm, depth 0-100 mm."""
    fat = np.array([2.0, 10.0, 20.0, 45.0])
    radii = np.array([5.0, 20.0, 50.0, 100.0])
    depth = np.arange(100) + 0.5
    skin = np.arange(1, 7)
    disk = 1.0 - np.exp(-radii / 15.0)
    factors = np.empty((len(WAVELENGTHS_NM), len(skin), len(fat), len(radii), len(depth)))
    for i, wavelength in enumerate(WAVELENGTHS_NM):
        for j, skin_type in enumerate(skin):
            for k, fat_mm in enumerate(fat):
                length = DECAY_LENGTH_MM * (wavelength / 810.0) * (1 - 0.03 * skin_type) * (1 - fat_mm / 200)
                factors[i, j, k] = disk[:, None] * np.exp(-depth[None, :] / length)
    table = FluenceTable(np.array(WAVELENGTHS_NM), skin, fat, radii, depth, factors, photons=0)
    return TablePhysics(table)
