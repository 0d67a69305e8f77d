"""Machine profiles: what an OEM laser therapy machine can do (sources, handpieces, limits, logo).

A bottom-layer package: it depends only on `laserdose.errors` and `laserdose.files`, and safety,
planning, device control and the web app all read it.
"""
