"""`laserdose safety`: exposure limits, hazard distance, eyewear, classification and device summaries."""

from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json, print_table
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile
from laserdose.safety.classify import BeamGeometry, Emission, classify
from laserdose.safety.hazard import DEFAULT_EXPOSURE_S, eye_nohd, eyewear, max_skin_exposure
from laserdose.safety.iec60825 import ALPHA_MIN_MRAD, correction_factors, eye_mpe, skin_mpe
from laserdose.safety.pulses import PulseTrain, pulsed_mpe
from laserdose.safety.summary import safety_summary, summary_rows

app = typer.Typer(help="Laser safety per IEC 60825-1:2014.", no_args_is_help=True)

Wavelength = Annotated[float, typer.Option("--wavelength-nm", help="Wavelength [nm].")]
PulseDuration = Annotated[float | None, typer.Option("--pulse-duration-s", help="Pulse duration [s].")]
Prf = Annotated[float | None, typer.Option("--prf-hz", help="Pulse repetition frequency [Hz].")]
Alpha = Annotated[float, typer.Option("--alpha-mrad", help="Angular subtense of the source [mrad].")]


def _train(pulse_duration_s: float | None, prf_hz: float | None, exposure_s: float) -> PulseTrain | None:
    if pulse_duration_s is None and prf_hz is None:
        return None
    if pulse_duration_s is None or prf_hz is None:
        raise InputError("pulsed emission needs both --pulse-duration-s and --prf-hz")
    return PulseTrain(pulse_duration_s, prf_hz, exposure_s)


def _show(title: str, payload: dict[str, object], as_json: bool) -> None:
    if as_json:
        print_json(payload)
    else:
        print_table(title, ["quantity", "value"], list(payload.items()))


@app.command("mpe")
def mpe(
    wavelength_nm: Wavelength,
    duration_s: Annotated[float, typer.Option("--duration-s", help="Exposure duration [s].")],
    target: Annotated[str, typer.Option("--target", help="eye or skin.")] = "eye",
    pulse_duration_s: PulseDuration = None,
    prf_hz: Prf = None,
    alpha_mrad: Alpha = ALPHA_MIN_MRAD,
    as_json: JsonFlag = False,
) -> None:
    """Maximum permissible exposure of the eye or the skin (per pulse for a pulse train)."""
    if target not in ("eye", "skin"):
        raise InputError(f"unknown target {target!r}; allowed: eye, skin")
    train = _train(pulse_duration_s, prf_hz, duration_s)
    if train is None:
        limit = (
            eye_mpe(wavelength_nm, duration_s, alpha_mrad)
            if target == "eye"
            else skin_mpe(wavelength_nm, duration_s)
        )
        payload: dict[str, object] = {
            "mpe_w_per_m2": limit.e_w_per_m2,
            "mpe_j_per_m2": limit.h_j_per_m2,
            "rule": limit.rule,
        }
    else:
        pulsed = pulsed_mpe(wavelength_nm, train, target, alpha_mrad)
        payload = {
            "mpe_w_per_m2": pulsed.e_average_w_per_m2,
            "mpe_j_per_m2": pulsed.h_per_pulse_j_per_m2,
            "rule": pulsed.rule,
            "per_pulse": True,
            "rule_values_j_per_m2": list(pulsed.rule_values_j_per_m2),
            "c5": pulsed.c5,
            "n_pulses": pulsed.n_pulses,
        }
    if as_json:
        payload["factors"] = correction_factors(wavelength_nm, duration_s, alpha_mrad)
    _show(f"MPE ({target})", payload, as_json)


@app.command("nohd")
def nohd(
    wavelength_nm: Wavelength,
    power_w: Annotated[float, typer.Option("--power-w", help="Power [W].")],
    beam_diameter_mm: Annotated[
        float, typer.Option("--beam-diameter-mm", help="Beam diameter at the aperture [mm].")
    ],
    divergence_mrad: Annotated[
        float, typer.Option("--divergence-mrad", help="Full-angle divergence [mrad].")
    ],
    exposure_s: Annotated[
        float, typer.Option("--exposure-s", help="Exposure duration [s].")
    ] = DEFAULT_EXPOSURE_S,
    as_json: JsonFlag = False,
) -> None:
    """Nominal ocular hazard distance of a CW beam."""
    result = eye_nohd(wavelength_nm, power_w, beam_diameter_mm, divergence_mrad, exposure_s)
    _show(
        "NOHD", {"nohd_m": result.nohd_m, "mpe_w_per_m2": result.mpe_w_per_m2, "rule": result.rule}, as_json
    )


@app.command("eyewear")
def eyewear_command(
    wavelength_nm: Wavelength,
    power_w: Annotated[float, typer.Option("--power-w", help="Average power [W].")],
    beam_diameter_mm: Annotated[float, typer.Option("--beam-diameter-mm", help="Beam diameter [mm].")],
    exposure_s: Annotated[
        float, typer.Option("--exposure-s", help="Exposure duration [s].")
    ] = DEFAULT_EXPOSURE_S,
    pulse_duration_s: PulseDuration = None,
    prf_hz: Prf = None,
    beam_profile: Annotated[
        str, typer.Option("--beam-profile", help="flat (all power inside the diameter) or gaussian (d63).")
    ] = "flat",
    as_json: JsonFlag = False,
) -> None:
    """Optical density (IEC 60825-1 / ANSI Z136.1) and EN 207 scale number, each with its basis."""
    need = eyewear(
        wavelength_nm, power_w, beam_diameter_mm, exposure_s, _train(pulse_duration_s, prf_hz, exposure_s),
        beam_profile,
    )  # fmt: skip
    payload = {
        "od": need.od,
        "od_basis": need.od_basis,
        "aperture_mm": need.aperture_mm,
        "irradiance_w_per_m2": need.irradiance_w_per_m2,
        "mpe_w_per_m2": need.mpe_w_per_m2,
        "rule": need.rule,
        "lb": need.lb,
        "lb_basis": need.lb_basis,
        "lb_irradiance_w_per_m2": need.lb_irradiance_w_per_m2,
    }
    _show("Eyewear", payload, as_json)


@app.command("skin-time")
def skin_time(
    wavelength_nm: Wavelength,
    irradiance_w_per_m2: Annotated[
        float, typer.Option("--irradiance-w-per-m2", help="Irradiance on the skin [W/m^2].")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Longest exposure of the skin at a fixed irradiance before the skin MPE is exceeded."""
    result = max_skin_exposure(wavelength_nm, irradiance_w_per_m2)
    payload = {
        "max_exposure_s": result.max_exposure_s,
        "mpe_w_per_m2": result.mpe_w_per_m2,
        "rule": result.rule,
    }
    _show("Skin exposure", payload, as_json)


@app.command("classify")
def classify_command(
    wavelength_nm: Annotated[
        list[float], typer.Option("--wavelength-nm", help="Wavelength [nm]; repeat for several.")
    ],
    power_w: Annotated[list[float], typer.Option("--power-w", help="Average power [W], one per wavelength.")],
    pulse_duration_s: PulseDuration = None,
    prf_hz: Prf = None,
    alpha_mrad: Alpha = ALPHA_MIN_MRAD,
    beam_diameter_mm: Annotated[
        float | None, typer.Option("--beam-diameter-mm", help="Beam diameter [mm].")
    ] = None,
    divergence_mrad: Annotated[float, typer.Option("--divergence-mrad", help="Divergence [mrad].")] = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Laser class of an emission (one or several wavelengths, CW or pulsed)."""
    if len(wavelength_nm) != len(power_w):
        raise InputError("give one --power-w for each --wavelength-nm")
    train = _train(pulse_duration_s, prf_hz, 100.0)
    beam = None if beam_diameter_mm is None else BeamGeometry(beam_diameter_mm, divergence_mrad)
    emissions = [Emission(w, p, train) for w, p in zip(wavelength_nm, power_w, strict=True)]
    result = classify(emissions, alpha_mrad, beam)
    payload = {"class": result.laser_class, "rule": result.rule, "ael_ratios": result.ratios}
    if as_json:
        print_json(payload)
    else:
        rows: list[tuple[str, object]] = [("class", result.laser_class), ("rule", result.rule)]
        rows += [(f"emission / AEL of class {k}", v) for k, v in result.ratios.items()]
        print_table("Classification", ["quantity", "value"], rows)


@app.command("summary")
def summary(
    device: Annotated[str, typer.Option("--device", help="Shipped profile name or a profile TOML path.")],
    exposure_s: Annotated[
        float, typer.Option("--exposure-s", help="Exposure duration [s].")
    ] = DEFAULT_EXPOSURE_S,
    as_json: JsonFlag = False,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also write the summary as a report page.")
    ] = None,
) -> None:
    """Laser safety summary of a machine: class, NOHD per handpiece, eyewear, room-sign warnings."""
    result = safety_summary(load_profile(device), exposure_s)
    if pdf is not None:
        from laserdose.planning.letterhead import Letterhead
        from laserdose.planning.report import safety_pages, write_pdf

        write_pdf(pdf, safety_pages(result), Letterhead("Laser safety summary", profile=load_profile(device)))
    if as_json:
        print_json(result.to_dict())
    else:
        print_table(f"Laser safety: {result.device}", ["section", "item", "value"], summary_rows(result))
