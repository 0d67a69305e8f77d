"""`laserdose demo`: the main job on embedded defaults until the clinic app exists."""

from laserdose.cli.output import print_table
from laserdose.optics.back import back_model

# Demo patient and demo machine (embedded defaults, not a real person or product).
DEMO_SKIN_TYPE, DEMO_BMI = 3, 27.0
DEMO_WAVELENGTHS_NM = (810.0, 980.0, 1064.0)


def demo() -> None:
    """Show what laserdose computes for a demo patient on a demo machine."""
    models = [back_model(DEMO_SKIN_TYPE, nm, bmi=DEMO_BMI) for nm in DEMO_WAVELENGTHS_NM]
    first = models[0]
    columns = ["layer", "thickness [mm]", *(f"{nm:g} nm" for nm in DEMO_WAVELENGTHS_NM)]
    rows = []
    for index, layer in enumerate(first.layers):
        row: list[object] = [layer.name, layer.thickness_mm]
        for model in models:
            at = model.layers[index]
            row.append(f"{at.mua_per_mm:.3g} / {at.mus_per_mm * (1.0 - at.g):.3g}")
        rows.append(row)
    print_table(
        f"Demo patient: skin type III, BMI {DEMO_BMI:g}, fat {first.fat_mm:.1f} mm (estimated). "
        "Layers at the demo machine's wavelengths, mua / mus' [1/mm]",
        columns,
        rows,
    )
    print_table(
        "Treatment targets (depth below the skin)",
        ["target", "depth [mm]", "SD [mm]"],
        [[name, target.depth_mm, target.sd_mm] for name, target in first.targets.items()],
    )
