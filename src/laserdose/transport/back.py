"""A patient's back (optics back model) as a transport stack."""

from laserdose.optics.back import back_model
from laserdose.transport.geometry import Layer, Stack


def back_stack(
    skin_type: int, wavelength_nm: float, *, fat_mm: float | None = None, bmi: float | None = None
) -> Stack:
    """The optics back model of a patient as a stack: air above, the last layer (bone) semi-infinite.

    Args:
        skin_type: Fitzpatrick skin type, 1-6.
        wavelength_nm: wavelength [nm].
        fat_mm: measured subcutaneous fat thickness [mm]; give this or `bmi`.
        bmi: body-mass index [kg/m^2]; the back model estimates the fat from it.
    """
    model = back_model(skin_type, wavelength_nm, fat_mm=fat_mm, bmi=bmi)
    layers = tuple(
        Layer(layer.thickness_mm, layer.mua_per_mm, layer.mus_per_mm, layer.g, layer.n)
        for layer in model.layers
    )
    return Stack(layers=layers, n_above=1.0, n_below=layers[-1].n)
