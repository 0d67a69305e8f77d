"""The clinic web app: FastAPI + Jinja2 + HTMX pages and a JSON API under /api/v1."""
