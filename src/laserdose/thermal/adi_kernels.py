"""Numba kernels of the 3-D Douglas ADI step and of the moving-beam source (pure: no I/O, no imports above).

Arrays are indexed [x, y, z]. Each implicit 1-D solve is a Thomas sweep whose elimination factors were
computed once (`thomas_factors`), so a step costs a few passes over the grid.
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def explicit_terms(u, a_y, z_lower, z_diag, z_upper, ay_u, az_u, rhs):
    """ay_u = dt Ay u (insulated ends), az_u = dt Az u, and the first Douglas right side u + ay_u + az_u."""
    nx, ny, nz = u.shape
    for i in prange(nx):
        for j in range(ny):
            jm = j - 1 if j > 0 else j
            jp = j + 1 if j < ny - 1 else j
            for k in range(nz):
                ay = a_y[k] * (u[i, jm, k] + u[i, jp, k] - 2.0 * u[i, j, k])
                az = z_diag[k] * u[i, j, k]
                if k > 0:
                    az += z_lower[k] * u[i, j, k - 1]
                if k < nz - 1:
                    az += z_upper[k] * u[i, j, k + 1]
                ay_u[i, j, k] = ay
                az_u[i, j, k] = az
                rhs[i, j, k] = u[i, j, k] + ay + az


@njit(parallel=True, cache=True)
def solve_x(d, a_x, cp_x, inv_x):
    """In place: solve (I - dt Ax) v = d along x for every (y, z); a_x[k] = dt kappa_k / dx^2."""
    nx, ny, nz = d.shape
    for j in prange(ny):
        for k in range(nz):
            d[0, j, k] *= inv_x[k, 0]
        for i in range(1, nx):
            for k in range(nz):
                d[i, j, k] = (d[i, j, k] + a_x[k] * d[i - 1, j, k]) * inv_x[k, i]
        for i in range(nx - 2, -1, -1):
            for k in range(nz):
                d[i, j, k] -= cp_x[k, i] * d[i + 1, j, k]


@njit(parallel=True, cache=True)
def solve_y(d, minus, a_y, cp_y, inv_y):
    """In place: solve (I - dt Ay) v = d - minus along y for every (x, z)."""
    nx, ny, nz = d.shape
    for i in prange(nx):
        for k in range(nz):
            d[i, 0, k] = (d[i, 0, k] - minus[i, 0, k]) * inv_y[k, 0]
        for j in range(1, ny):
            for k in range(nz):
                d[i, j, k] = (d[i, j, k] - minus[i, j, k] + a_y[k] * d[i, j - 1, k]) * inv_y[k, j]
        for j in range(ny - 2, -1, -1):
            for k in range(nz):
                d[i, j, k] -= cp_y[k, j] * d[i, j + 1, k]


@njit(parallel=True, cache=True)
def solve_z(d, minus, z_lower, cp_z, inv_z):
    """In place: solve (I - dt Az) v = d - minus along depth; z_lower[k] = dt g_(k-1/2) / C_k.

    The sweeps run over depth in the outer loop so that the inner loop (over y) is free of dependences.
    """
    nx, ny, nz = d.shape
    for i in prange(nx):
        for j in range(ny):
            d[i, j, 0] = (d[i, j, 0] - minus[i, j, 0]) * inv_z[0]
        for k in range(1, nz):
            for j in range(ny):
                d[i, j, k] = (d[i, j, k] - minus[i, j, k] + z_lower[k] * d[i, j, k - 1]) * inv_z[k]
        for k in range(nz - 2, -1, -1):
            for j in range(ny):
                d[i, j, k] -= cp_z[k] * d[i, j, k + 1]


@njit(cache=True)
def footprint_total(x_mm, y_mm, column_power, dr_mm, dx_mm, dy_mm, x0_mm, y0_mm):
    """Sum of the kernel's column powers sampled at the cell centres around (x_mm, y_mm), and the box.

    `column_power[m]` is the power [W per W] of a dx-by-dy column at radius (m + 0.5) dr. Columns outside
    the domain count in the sum, so that rescaling by it keeps the deposited energy exact.
    """
    reach = column_power.size * dr_mm
    ix0 = int(np.floor((x_mm - reach - x0_mm) / dx_mm))
    ix1 = int(np.floor((x_mm + reach - x0_mm) / dx_mm)) + 1
    iy0 = int(np.floor((y_mm - reach - y0_mm) / dy_mm))
    iy1 = int(np.floor((y_mm + reach - y0_mm) / dy_mm)) + 1
    total = 0.0
    for i in range(ix0, ix1):
        xc = x0_mm + (i + 0.5) * dx_mm
        for j in range(iy0, iy1):
            yc = y0_mm + (j + 0.5) * dy_mm
            m = int(np.sqrt((xc - x_mm) ** 2 + (yc - y_mm) ** 2) / dr_mm)
            if m < column_power.size:
                total += column_power[m]
    return total, ix0, ix1, iy0, iy1


@njit(cache=True)
def deposit(rhs, x_mm, y_mm, scale, table, heating, dr_mm, dx_mm, dy_mm, x0_mm, y0_mm, ix0, ix1, iy0, iy1):
    """Add scale * table[m, k] * heating[k] to in-domain cells; return the power added [W].

    table[m, k]: power per cell per W at radius bin m and depth cell k; heating[k] = dt / (rho c V) [K/J].
    """
    nx, ny, nz = rhs.shape
    added = 0.0
    for i in range(max(ix0, 0), min(ix1, nx)):
        xc = x0_mm + (i + 0.5) * dx_mm
        for j in range(max(iy0, 0), min(iy1, ny)):
            yc = y0_mm + (j + 0.5) * dy_mm
            m = int(np.sqrt((xc - x_mm) ** 2 + (yc - y_mm) ** 2) / dr_mm)
            if m < table.shape[0]:
                for k in range(nz):
                    power = scale * table[m, k]
                    rhs[i, j, k] += power * heating[k]
                    added += power
    return added
