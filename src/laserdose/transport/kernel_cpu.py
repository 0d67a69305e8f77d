"""Numba CPU kernel: MCML photon-packet transport in a stack of layers (Wang, Jacques & Zheng 1995).

Plain floats and arrays only, in mm and 1/mm; this module imports nothing from laserdose (an
import-linter contract keeps it so). Each of S independent streams owns a xoshiro256+ generator
(Blackman & Vigna 2018) and its own tallies; streams run in parallel and are summed in a fixed order, so
a seed gives the same result for any thread count up to S.

Weight accounting per photon: the specular part R(theta_i) of the launch is tallied deterministically
(MCML), the rest enters with weight 1 - R; weight then leaves by absorption, by escape through the top
(diffuse reflectance) or the bottom (transmittance), or through Russian roulette, whose net gain or loss
is tallied too, so that Rsp + Rd + A + T - roulette = 1 holds exactly for every photon. With variance
reduction (importance planes, see planes.py) a packet may be split into copies whose weights sum to its
own, kept in a per-stream bank and traced one after the other; above the deepest plane its flights are
stretched and its scattering biased toward depth (the exponential transform with angular biasing). Roulette
at the planes and at collisions (the weight window) and every weight correction of the transform are
tallied with MCML's roulette, so the balance still holds exactly. The roulettes and the angular bias's
factors are also summed, times their importance, into zero-mean control variates (`controls`, CONTROL_*).

Absorption sets: stacks that differ from the traced one only in absorption (skin types differ only in
epidermal melanin) are scored in the same pass by reweighting [Sassaroli2011]. Tracing with mua_0 while
a set has mua_k = mua_0 + dmua_k, the ratio of the two games' probabilities of a packet's path, times the
ratio of their implicit-capture weights, is exactly exp(-sum over layers of dmua_k x path length in the
layer): the collision densities' ratio mut_k / mut_0 cancels against the albedos' mut_0 / mut_k. Each
packet carries that factor per set (`factors`), and the set's collision estimator of fluence is the
traced one times it. With every dmua_k >= 0 (trace the least absorbing set) the factors stay <= 1.

kernel_cuda.py compiles these same functions for the GPU: keep them to what numba's CUDA target accepts
(scalars, tuples, array indexing; no allocation, no objects), and route every write to a bin shared by
all streams through `_tally` / `_tally_rz`.
"""

import math

import numpy as np
from numba import njit, prange

# MCML's packet termination (Wang et al. 1995, section 3.8): roulette below this weight, survival 1 in 10.
WEIGHT_THRESHOLD = 1e-4
ROULETTE_CHANCE = 0.1
# Direction cosines within this of 1 are treated as along the z axis (MCML's COSZERO, Wang et al. 1995).
COS_ONE = 1.0 - 1e-12
# Below this |g| Henyey-Greenstein is sampled as isotropic. The inversion's cos = (1 + g^2 - tmp^2) / 2g
# loses ~1e-16 / g of absolute accuracy to cancellation, and for |g| < 1e-16 returns 0, every scattering
# at right angles (found by Hypothesis at g = 5e-324); HG differs from isotropic by O(g) in every moment.
G_ISOTROPIC = 1e-8

# LLVM fast-math flags that keep inf semantics (the semi-infinite layer and clear layers rely on inf):
# contraction into FMAs, reciprocal approximations and sign-of-zero freedom; no "nnan"/"ninf".
FAST_MATH = {"contract", "arcp", "nsz", "afn"}

BEAM_PENCIL = 0
BEAM_FLAT = 1
BEAM_GAUSSIAN = 2
BEAM_FIBRE = 3

# Weight windows at importance planes [Booth1985]: a packet whose weight relative to its region's target
# leaves [WINDOW_LOW, WINDOW_HIGH] at a plane is split or rouletted. The target halves at each plane; the
# exponential transform halves a packet's weight on its way from one plane to the next, so a packet on
# target arrives near 1 and the window only catches the transform's fluctuations (below the deepest plane,
# where the game is analog, a packet crossing a plane back and forth is spared by the window's width).
# The bounds were tuned on the back model with splitting alone (benchmarks/deep_fluence.py): a low bound
# of 0.5 or 0.25 rouletted too often, 1/32 kept too many light packets. The low bound also applies after
# each collision, where absorption wears the weight down, which cut the variance-reduced run's CPU by
# ~10 % (docs/deep-fluence.md).
WINDOW_LOW = 0.125
WINDOW_HIGH = 1.5
MAX_SPLIT = 8
# A photon's copies, all told, stop at MAX_FAMILY; later crossings split no more (splitting is optional:
# the game stays unbiased). Where the diffusion adjoint misjudges the light (mua not small against mus',
# strong backward scattering) the windows can keep a family growing: with mua = 10 and mus = 20 /mm,
# g = -0.9, 300 photons took 3.0 s without this bound and 0.065 s with it (a plain run: 3 ms). In the back
# model no family came near it (largest 26 copies; none over 100 in 45,000 photons, planes to 60 mm).
MAX_FAMILY = 1000
# Crossing the deepest plane downward the importance falls fourfold (instead of doubling): below the
# deepest depth of interest packets matter only by coming back up, so they soon play roulette there.
BELOW_DEEPEST = 0.25
# A banked copy: x, y, z, ux, uy, uz, weight, layer, region, importance; then one factor per absorption set.
BANK_FIELDS = 10

# Control variates of the deep fluence (batch_stats.controlled_mean_se): the weight changes of roulette (at
# windows and MCML's) and of the angular bias, times the importance where they happen, summed per kind and
# importance region. Each change has expectation zero given the packet's state (roulette keeps the expected
# weight; the bias's factor has expectation one under the biased scattering), so each sum is a zero-mean
# statistic that moves with the tallies the change disturbed [HendersonGlynn2002].
CONTROL_ROULETTE, CONTROL_BIAS = 0, 1
N_CONTROLS = 2

# Scalar tallies per stream, in this order.
SPECULAR, DIFFUSE, ABSORBED, TRANSMITTED, ROULETTE = 0, 1, 2, 3, 4
N_SCALARS = 5

_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U19 = np.uint64(19)
_TWO_PI = 2.0 * math.pi
_INV_2_53 = 1.0 / 9007199254740992.0


@njit(inline="always")
def _uniform(rng):
    """Next number of the stream in (0, 1] from xoshiro256+ (Blackman & Vigna 2018), and the next state.

    The state travels as a tuple of 4 uint64 (kept in registers) rather than an array (a store and load per
    draw): the photon loop unpacks its stream's state once and writes it back at the end.
    """
    s0, s1, s2, s3 = rng
    result = s0 + s3
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _U45) | (s3 >> _U19)
    return (float(result >> _U11) + 1.0) * _INV_2_53, (s0, s1, s2, s3)


@njit(inline="always")
def _fresnel(n_in, n_out, cos_in):
    """Unpolarised Fresnel reflectance and the cosine of the refracted angle (Born & Wolf; MCML)."""
    if n_in == n_out:
        return 0.0, cos_in
    if cos_in > COS_ONE:
        r = (n_out - n_in) / (n_out + n_in)
        return r * r, cos_in
    if cos_in < 1e-6:
        return 1.0, 0.0
    sin_in = math.sqrt(1.0 - cos_in * cos_in)
    sin_out = n_in * sin_in / n_out
    if sin_out >= 1.0:
        return 1.0, 0.0
    cos_out = math.sqrt(1.0 - sin_out * sin_out)
    cos_sum = cos_in * cos_out - sin_in * sin_out
    cos_diff = cos_in * cos_out + sin_in * sin_out
    sin_sum = sin_in * cos_out + cos_in * sin_out
    sin_diff = sin_in * cos_out - cos_in * sin_out
    r = (
        0.5
        * sin_diff
        * sin_diff
        * (cos_diff * cos_diff + cos_sum * cos_sum)
        / (sin_sum * sin_sum * cos_diff * cos_diff)
    )
    return r, cos_out


@njit(inline="always")
def _launch(kind, beam, rng):
    """Start point (x, y) on the surface and direction (ux, uy, uz > 0) in the medium above."""
    if kind == BEAM_PENCIL:
        return 0.0, 0.0, 0.0, 0.0, 1.0, rng
    u, rng = _uniform(rng)
    if kind == BEAM_FLAT:
        radius = beam[0] * math.sqrt(u)
    elif kind == BEAM_GAUSSIAN:
        # I(r) ~ exp(-2 r^2 / w^2), w the 1/e^2 radius: r = w sqrt(-ln(u) / 2) samples it exactly.
        radius = beam[0] * math.sqrt(-0.5 * math.log(u))
    else:
        radius = beam[2] * math.sqrt(u)
    u, rng = _uniform(rng)
    angle = _TWO_PI * u
    x = radius * math.cos(angle)
    y = radius * math.sin(angle)
    if kind != BEAM_FIBRE:
        return x, y, 0.0, 0.0, 1.0, rng
    # Uniform in solid angle inside the cone cos(theta) >= cos_max, then straight to the surface.
    cos_max = math.sqrt(1.0 - beam[0] * beam[0])
    u, rng = _uniform(rng)
    uz = 1.0 - u * (1.0 - cos_max)
    sin_t = math.sqrt(max(0.0, 1.0 - uz * uz))
    u, rng = _uniform(rng)
    phi = _TWO_PI * u
    ux = sin_t * math.cos(phi)
    uy = sin_t * math.sin(phi)
    return x + beam[1] * ux / uz, y + beam[1] * uy / uz, ux, uy, uz, rng


@njit(inline="always")
def _azimuth(rng):
    """Cosine and sine of an angle uniform in [0, 2 pi), and the generator's next state [VonNeumann1951].

    A point (a, b) uniform in the unit disc (rejection from the square, accepted with probability pi / 4)
    has a uniform polar angle t; cos 2t and sin 2t are rational in a and b, so no trigonometric call is
    needed (a cosine was a sixth of the time per step). Same distribution as MCML's psi = 2 pi u.
    """
    while True:
        u, rng = _uniform(rng)
        a = 2.0 * u - 1.0
        u, rng = _uniform(rng)
        b = 2.0 * u - 1.0
        r2 = a * a + b * b
        if 0.0 < r2 <= 1.0:
            inv_r2 = 1.0 / r2
            return (a * a - b * b) * inv_r2, 2.0 * a * b * inv_r2, rng


@njit(inline="always")
def _scatter(ux, uy, uz, g, rng):
    """New direction after a Henyey-Greenstein scattering event (MCML's Spin, Wang et al. 1995 eq. 3.28)."""
    if abs(g) < G_ISOTROPIC:
        u, rng = _uniform(rng)
        cos_t = 2.0 * u - 1.0
    else:
        u, rng = _uniform(rng)
        tmp = (1.0 - g * g) / (1.0 - g + 2.0 * g * u)
        cos_t = (1.0 + g * g - tmp * tmp) / (2.0 * g)
        cos_t = min(1.0, max(-1.0, cos_t))
    sin_t = math.sqrt(1.0 - cos_t * cos_t)
    cos_p, sin_p, rng = _azimuth(rng)
    if abs(uz) > COS_ONE:
        return sin_t * cos_p, sin_t * sin_p, cos_t if uz > 0.0 else -cos_t, rng
    tmp = math.sqrt(1.0 - uz * uz)
    new_ux = sin_t * (ux * uz * cos_p - uy * sin_p) / tmp + ux * cos_t
    new_uy = sin_t * (uy * uz * cos_p + ux * sin_p) / tmp + uy * cos_t
    new_uz = -sin_t * cos_p * tmp + uz * cos_t
    return new_ux, new_uy, new_uz, rng


@njit(inline="always")
def _tally(bins, index, value):
    """Add `value` to a radial bin; kernel_cuda.py swaps in an atomic add (bins shared by all threads)."""
    bins[index] += value


@njit(inline="always")
def _tally_rz(bins, ir, iz, value):
    """Add `value` to an r-z bin; kernel_cuda.py swaps in an atomic add (bins shared by all threads)."""
    bins[ir, iz] += value


@njit(inline="always")
def _tally_set(bins, k, ir, iz, value):
    """Add `value` to an r-z bin of absorption set k; kernel_cuda.py swaps in an atomic add."""
    bins[k, ir, iz] += value


@njit(inline="always")
def _attenuate(factors, dmua, layer, length):
    """Each absorption set's path factor over `length` mm more in `layer` (module docstring)."""
    for k in range(dmua.shape[0]):
        factors[k] *= math.exp(-dmua[k, layer] * length)


@njit(inline="always")
def _window(w, importance, banked, bank_size, rng):
    """Weight-window check at an importance plane: (copies, weight of each, roulette gain) [Booth1985].

    The packet's weight relative to its region's target 1 / importance, v = w * importance, is kept in
    [WINDOW_LOW, WINDOW_HIGH]: above, it is split into ceil(v) equal copies (as many as the bank has room
    for); below, it survives Russian roulette with probability v and then carries the target weight.
    Both keep the expected weight: splitting exactly, roulette on average (its gain or loss is returned).
    0 copies means the packet was killed.
    """
    v = w * importance
    if v > WINDOW_HIGH:
        copies = min(int(math.ceil(v)), MAX_SPLIT, bank_size - banked + 1)
        if copies < 2:
            return 1, w, 0.0, rng
        return copies, w / copies, 0.0, rng
    if v < WINDOW_LOW:
        u, rng = _uniform(rng)
        if u <= v:
            return 1, 1.0 / importance, 1.0 / importance - w, rng
        return 0, 0.0, -w, rng
    return 1, w, 0.0, rng


@njit(inline="always")
def _transform(stretch, region, n_planes, inv_transport):
    """Path-stretching rate p [1/mm] and angular bias b [-] where the packet is (0, 0: analog).

    p is the region's (planes.importance_planes); b = p / (mua + mus') the P1 importance of a
    direction. Both act above the deepest plane only; below it the game is analog again.
    kernel_cuda.py swaps in (0, 0): the GPU has no variance reduction.
    """
    if region < n_planes:
        p = stretch[region]
        return p, p * inv_transport
    return 0.0, 0.0


@njit(inline="always")
def _stretch(p, depth_travel):
    """Weight factor of a flight of `depth_travel` mm downward under the exponential transform [MCNP2003].

    The transformed free path has density (mut - p uz) exp(-(mut - p uz) s); the analog one
    mut exp(-mut s): their ratio over the flight's survival part is exp(-p uz s) = exp(-p x depth travel).
    """
    if p == 0.0:
        return 1.0
    return math.exp(-p * depth_travel)


@njit(inline="always")
def _reweight(w, roulette, factor):
    """A weight correction of variance reduction: the new weight, and the balance with the change tallied."""
    corrected = w * factor
    return corrected, roulette + (corrected - w)


@njit(inline="always")
def _control(controls, kind, region, value):
    """Add a zero-mean weight change times its importance to the control of its kind and region."""
    controls[kind, region] += value


@njit(inline="always")
def _biased_scatter(ux, uy, uz, g, b, rng):
    """Scatter with the new z-cosine biased by importance 1 + b uz' [LuxKoblinger1991]; the weight factor.

    Rejection from Henyey-Greenstein: accepted with probability (1 + b uz') / (1 + |b|), so the sampled
    density is HG(uz') (1 + b uz') / (1 + b g uz) (the HG mean of uz' is g uz); the weight factor is the
    inverse ratio (1 + b g uz) / (1 + b uz'), which keeps every expectation. b = 0: plain HG, factor 1.
    """
    if b == 0.0:
        new_ux, new_uy, new_uz, rng = _scatter(ux, uy, uz, g, rng)
        return new_ux, new_uy, new_uz, 1.0, rng
    while True:
        new_ux, new_uy, new_uz, rng = _scatter(ux, uy, uz, g, rng)
        u, rng = _uniform(rng)
        if u * (1.0 + abs(b)) <= 1.0 + b * new_uz:
            return new_ux, new_uy, new_uz, (1.0 + b * g * uz) / (1.0 + b * new_uz), rng


@njit(nogil=True, cache=True, fastmath=FAST_MATH)
def _run_stream(
    photons, state, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
    dr, dz, planes, stretch, bank, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z, dmua, factors,
    phi_rz_sets, controls,
):  # fmt: skip
    """Trace `photons` packets with one generator `state`, adding to this stream's tallies."""
    n_layers = mua.shape[0]
    n_sets = dmua.shape[0]
    nr = a_rz.shape[0]
    nz = a_rz.shape[1]
    n_planes = planes.shape[0]
    bank_size = bank.shape[0]
    inv_dr = 1.0 / dr
    inv_dz = 1.0 / dz
    specular = diffuse = absorbed = transmitted = roulette = 0.0
    rng = (state[0], state[1], state[2], state[3])
    for _ in range(photons):
        x, y, ux, uy, uz, rng = _launch(kind, beam, rng)
        r_spec, cos_t = _fresnel(n_above, n_layer[0], uz)
        specular += r_spec
        w = 1.0 - r_spec
        if n_above != n_layer[0]:
            ratio = n_above / n_layer[0]
            ux *= ratio
            uy *= ratio
            uz = cos_t
        z = 0.0
        layer = 0
        step_left = 0.0
        region = 0  # importance planes above the packet; its importance is 2^region
        importance = 1.0
        banked = 0  # copies waiting in the bank, split from this photon
        family = 0  # copies split from this photon so far
        for k in range(n_sets):
            factors[k] = 1.0
        # The current layer's coefficients, looked up again only when the packet changes layer.
        props_layer = -1
        mut = inv_mut = albedo = g_layer = inv_transport = 0.0
        sets_differ = False  # whether an absorption set's mua differs from the traced one in this layer
        while True:  # the launched packet, then each banked copy in turn
            while True:
                if layer != props_layer:
                    props_layer = layer
                    mut = mua[layer] + mus[layer]
                    inv_mut = 1.0 / mut if mut > 0.0 else math.inf
                    albedo = mus[layer] / mut if mut > 0.0 else 0.0
                    g_layer = g[layer]
                    transport = mua[layer] + mus[layer] * (1.0 - g_layer)
                    inv_transport = 1.0 / transport if transport > 0.0 else 0.0
                    sets_differ = False
                    for k in range(n_sets):
                        if dmua[k, layer] != 0.0:
                            sets_differ = True
                if step_left == 0.0:
                    u, rng = _uniform(rng)
                    step_left = -math.log(u)
                # The exponential transform's collision rate, > 0 as p < mut (planes.importance_planes).
                p, b = _transform(stretch, region, n_planes, inv_transport)
                rate = mut - p * uz
                if mut == 0.0:
                    step = math.inf
                elif p == 0.0:
                    step = step_left * inv_mut
                else:
                    step = step_left / rate
                # Depths to the layer's boundary and to the next importance plane along the motion; a
                # step reaches one when its depth travel covers it (no division until it does).
                if uz > 0.0:
                    to_boundary_z = z_bot[layer] - z
                    to_plane_z = planes[region] - z if region < n_planes else math.inf
                elif uz < 0.0:
                    to_boundary_z = z - z_top[layer]
                    to_plane_z = z - planes[region - 1] if region > 0 else math.inf
                else:
                    if mut == 0.0:  # horizontal in a clear layer: never ends; count as lost
                        roulette -= w
                        break
                    to_boundary_z = to_plane_z = math.inf
                travel_z = step * abs(uz)
                if to_plane_z < to_boundary_z and travel_z >= to_plane_z:
                    # An importance plane: the free path is memoryless, so each copy draws a new one.
                    to_plane = to_plane_z / abs(uz)
                    x += to_plane * ux
                    y += to_plane * uy
                    if sets_differ:
                        _attenuate(factors, dmua, layer, to_plane)
                    w, roulette = _reweight(w, roulette, _stretch(p, to_plane * uz))
                    step_left = 0.0
                    if uz > 0.0:
                        z = planes[region]
                        importance *= 2.0 if region < n_planes - 1 else BELOW_DEEPEST
                        region += 1
                    else:
                        region -= 1
                        z = planes[region]
                        importance *= 0.5 if region < n_planes - 1 else 1.0 / BELOW_DEEPEST
                    # A family at MAX_FAMILY finds the bank full: no more copies.
                    in_bank = banked if family < MAX_FAMILY else bank_size
                    copies, w, gain, rng = _window(w, importance, in_bank, bank_size, rng)
                    roulette += gain
                    _control(controls, CONTROL_ROULETTE, region, gain * importance)
                    if copies == 0:
                        break
                    family += copies - 1
                    for _copy in range(copies - 1):
                        bank[banked, 0] = x
                        bank[banked, 1] = y
                        bank[banked, 2] = z
                        bank[banked, 3] = ux
                        bank[banked, 4] = uy
                        bank[banked, 5] = uz
                        bank[banked, 6] = w
                        bank[banked, 7] = layer
                        bank[banked, 8] = region
                        bank[banked, 9] = importance
                        for k in range(n_sets):
                            bank[banked, BANK_FIELDS + k] = factors[k]
                        banked += 1
                    continue
                if travel_z >= to_boundary_z:
                    if to_boundary_z == math.inf:  # a clear semi-infinite layer: never ends; count as lost
                        roulette -= w
                        break
                    to_boundary = to_boundary_z / abs(uz)
                    x += to_boundary * ux
                    y += to_boundary * uy
                    if sets_differ:
                        _attenuate(factors, dmua, layer, to_boundary)
                    w, roulette = _reweight(w, roulette, _stretch(p, to_boundary * uz))
                    going_down = uz > 0.0
                    z = z_bot[layer] if going_down else z_top[layer]
                    if mut > 0.0:
                        step_left = max(0.0, step_left - to_boundary * rate)
                    if going_down:
                        n_next = n_below if layer == n_layers - 1 else n_layer[layer + 1]
                    else:
                        n_next = n_above if layer == 0 else n_layer[layer - 1]
                    r_fres, cos_t = _fresnel(n_layer[layer], n_next, abs(uz))
                    if r_fres > 0.0:
                        u, rng = _uniform(rng)
                        if u <= r_fres:
                            uz = -uz
                            continue
                    if going_down and layer == n_layers - 1:
                        transmitted += w
                        ir = int(math.sqrt(x * x + y * y) * inv_dr)
                        if ir < nr:
                            _tally(t_r, ir, w)
                        break
                    if not going_down and layer == 0:
                        diffuse += w
                        ir = int(math.sqrt(x * x + y * y) * inv_dr)
                        if ir < nr:
                            _tally(rd_r, ir, w)
                        break
                    if n_layer[layer] != n_next:
                        ratio = n_layer[layer] / n_next
                        ux *= ratio
                        uy *= ratio
                        uz = cos_t if going_down else -cos_t
                    layer += 1 if going_down else -1
                    continue
                x += step * ux
                y += step * uy
                z += step * uz
                if sets_differ:
                    _attenuate(factors, dmua, layer, step)
                step_left = 0.0
                if p != 0.0:
                    # The transformed flight's weight: survival ratio and collision-rate ratio mut / rate.
                    w, roulette = _reweight(w, roulette, _stretch(p, step * uz) * (mut / rate))
                # The packet keeps the albedo's share; computed this way it stays >= 0 and is exactly 0
                # in a purely absorbing layer.
                scattered = w * albedo
                deposit = w - scattered
                absorbed += deposit
                layer_abs[layer] += deposit
                iz = int(z * inv_dz)
                if iz < nz:
                    # Collision estimator of fluence: mua * phi = A bin by bin. Summed over all radii, it
                    # is the broad-beam fluence at that depth.
                    _tally(phi_z, iz, w * inv_mut)
                    ir = int(math.sqrt(x * x + y * y) * inv_dr)
                    if ir < nr:
                        _tally_rz(a_rz, ir, iz, deposit)
                        _tally_rz(phi_rz, ir, iz, w * inv_mut)
                        for k in range(n_sets):
                            _tally_set(phi_rz_sets, k, ir, iz, w * inv_mut * factors[k])
                w = scattered
                if w == 0.0:
                    break
                ux, uy, uz, bias_factor, rng = _biased_scatter(ux, uy, uz, g_layer, b, rng)
                if bias_factor != 1.0:
                    _control(controls, CONTROL_BIAS, region, w * (bias_factor - 1.0) * importance)
                    w, roulette = _reweight(w, roulette, bias_factor)
                if w * importance < WINDOW_LOW and planes[0] < math.inf:
                    # The window's low bound at collisions too [TOPASWeightWindow]: a packet that
                    # absorption has worn below 1/8 of its target plays roulette now instead of being
                    # traced for hundreds of collisions more down to MCML's 1e-4. (planes[0] is read
                    # here rather than held in a flag: the CUDA kernel must fit 128 registers.)
                    copies, w, gain, rng = _window(w, importance, banked, bank_size, rng)
                    roulette += gain
                    _control(controls, CONTROL_ROULETTE, region, gain * importance)
                    if copies == 0:
                        break
                # MCML's roulette, on the weight relative to the region's target (1 without planes).
                if w * importance < WEIGHT_THRESHOLD:
                    u, rng = _uniform(rng)
                    gain = w * (1.0 / ROULETTE_CHANCE - 1.0) if u <= ROULETTE_CHANCE else -w
                    roulette += gain
                    _control(controls, CONTROL_ROULETTE, region, gain * importance)
                    if u > ROULETTE_CHANCE:
                        break
                    w /= ROULETTE_CHANCE
            if banked == 0:
                break
            banked -= 1
            x = bank[banked, 0]
            y = bank[banked, 1]
            z = bank[banked, 2]
            ux = bank[banked, 3]
            uy = bank[banked, 4]
            uz = bank[banked, 5]
            w = bank[banked, 6]
            layer = int(bank[banked, 7])
            region = int(bank[banked, 8])
            importance = bank[banked, 9]
            for k in range(n_sets):
                factors[k] = bank[banked, BANK_FIELDS + k]
            step_left = 0.0
    state[0], state[1], state[2], state[3] = rng
    scalars[SPECULAR] += specular
    scalars[DIFFUSE] += diffuse
    scalars[ABSORBED] += absorbed
    scalars[TRANSMITTED] += transmitted
    scalars[ROULETTE] += roulette


@njit(parallel=True, nogil=True, cache=True)
def run_streams(
    photons, states, z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
    dr, dz, planes, stretch, bank, scalars, layer_abs, rd_r, t_r, a_rz, phi_rz, phi_z, dmua, factors,
    phi_rz_sets, controls,
):  # fmt: skip
    """Trace photons[s] packets in each stream s in parallel; every output has the stream as first axis.

    Args:
        photons: packets per stream, int64[S].
        states: xoshiro256+ states, uint64[S, 4], advanced in place.
        z_top: top depth of each layer [mm].
        z_bot: bottom depth of each layer [mm]; inf for a semi-infinite last layer.
        mua: absorption coefficients [1/mm].
        mus: scattering coefficients [1/mm].
        g: anisotropies [-].
        n_layer: refractive indices [-].
        n_above: index above the surface [-].
        n_below: index below the last layer [-].
        kind: BEAM_PENCIL, BEAM_FLAT, BEAM_GAUSSIAN or BEAM_FIBRE.
        beam: float64[3]: flat/Gaussian radius [mm]; fibre (sin of cone half-angle, stand-off [mm],
            core radius [mm]).
        dr: radial bin width [mm].
        dz: depth bin height [mm].
        planes: depths of the importance planes, increasing [mm]; [inf] for none (plain MCML).
        stretch: float64[planes] the exponential transform's rate in each region above the deepest
            plane [1/mm] (planes.importance_planes); zeros for an analog game.
        bank: float64[S, B, BANK_FIELDS + K] room for copies split from a photon (B >= 1).
        scalars: float64[S, N_SCALARS] weight tallies, see SPECULAR etc.
        layer_abs: float64[S, layers] absorbed weight by layer.
        rd_r: float64[S, nr] diffuse reflectance by exit radius.
        t_r: float64[S, nr] transmittance by exit radius.
        a_rz: float64[S, nr, nz] absorbed weight by bin.
        phi_rz: float64[S, nr, nz] collision-estimator weight w / mut by bin [mm].
        phi_z: float64[S, nz] the same summed over all radii, the grid's and beyond [mm].
        dmua: float64[K, layers] each absorption set's mua minus `mua` [1/mm]; K = 0 for none. Where
            the traced layer is clear (mua + mus = 0) a set must not differ: nothing collides there.
        factors: float64[S, max(K, 1)] room for each stream's packet path factors.
        phi_rz_sets: float64[S, K, nr, nz] phi_rz of each absorption set [mm].
        controls: float64[S, N_CONTROLS, planes + 1] zero-mean control variates by kind (CONTROL_*) and
            importance region (0 above the first plane, planes below the deepest).
    """
    for s in prange(photons.shape[0]):
        _run_stream(
            photons[s], states[s], z_top, z_bot, mua, mus, g, n_layer, n_above, n_below, kind, beam,
            dr, dz, planes, stretch, bank[s], scalars[s], layer_abs[s], rd_r[s], t_r[s], a_rz[s], phi_rz[s],
            phi_z[s], dmua, factors[s], phi_rz_sets[s], controls[s],
        )  # fmt: skip
