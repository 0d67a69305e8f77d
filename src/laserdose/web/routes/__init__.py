"""Routers: the JSON API and the HTML pages, both thin over the clinic services (laserdose.clinic)."""
