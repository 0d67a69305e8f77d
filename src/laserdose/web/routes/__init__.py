"""Routers: the JSON API and the HTML pages, both thin over laserdose.clinic.service."""
