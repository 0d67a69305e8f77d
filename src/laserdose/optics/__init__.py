"""Tissue optics: chromophore spectra, tissue optical properties and the layered model of a patient's back."""
