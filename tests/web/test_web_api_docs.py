"""The API documentation page is public and loads nothing from outside the app."""

import re


def test_api_docs_page_is_public_and_names_no_outside_address(client):
    response = client.get("/api/docs", follow_redirects=False)
    assert response.status_code == 200
    html = response.text
    assert "<script>" not in html and "<style" not in html and " style=" not in html  # the CSP forbids inline
    addresses = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert "/static/swagger-ui-bundle.js" in addresses and "/static/swagger-ui.css" in addresses
    assert all(address.startswith("/") and not address.startswith("//") for address in addresses)
    assert not re.search(r"https?:|//cdn|unpkg|jsdelivr", html)
    assert 'data-openapi-url="/openapi.json"' in html
    assert client.get("/openapi.json").status_code == 200


def test_the_vendored_files_are_served(client):
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "api-docs.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_fastapi_cdn_pages_are_gone(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
