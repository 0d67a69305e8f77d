"""laserdose: dosimetry, safety, planning and device control for Class 4 laser therapy of back pain."""

__version__ = "0.1.0"
