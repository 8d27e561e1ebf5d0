"""Images of an uploaded QTI package: stored with the version, served, shown, refused."""

from __future__ import annotations

import html
import json

from item_banks.formats.qti_package import read_qti_package
from item_banks.native import encode_bank
from tests.item_banks.formats.test_media import PACKAGE, PNG
from tests.web.conftest import Site


def test_a_package_image_is_stored_served_and_shown_to_learners(site: Site) -> None:
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=pics.zip", content=PACKAGE, headers=site.auth()
    )
    assert uploaded.status_code == 201, uploaded.text
    assert any("logo.svg' is not kept: an SVG image" in w for w in uploaded.json()["warnings"])
    (file,) = read_qti_package(PACKAGE, "pics.zip").bank.media
    served = site.client.get(f"/media/{file.sha256}")
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "img-src 'self'" in served.headers["content-security-policy"]
    assert site.client.get("/media/" + "0" * 64).status_code == 404
    assert site.client.get("/media/../etc").status_code == 404
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Pictures",
            "bank_hash": uploaded.json()["hash"],
            "policy": {"stopping": {"rule": "fixed_length", "n": 1}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    session = site.client.post(f"/api/v1/assessments/{created.json()['id']}/sessions", json={})
    page = html.unescape(site.client.get(f"/s/{session.json()['id']}").text)
    assert f'<img src="/media/{file.sha256}" alt="A triangle"' in page
    # Images the bank does not hold show their alt text, never a request that fails.
    assert "[image: Logo] [image: Gone]" in page
    assert "images/" not in page


def test_a_native_bank_naming_media_it_does_not_hold_is_refused(site: Site) -> None:
    bank = read_qti_package(PACKAGE, "pics.zip").bank
    data = json.dumps(json.loads(encode_bank(bank, "json"))).encode()
    response = site.client.post(
        "/api/v1/author/banks?filename=b.json", content=data, headers=site.auth()
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        f"b.json: media[0]: the file {bank.media[0].path} is not in the upload and not stored; "
        "upload the bank as a QTI package with its images"
    ]
