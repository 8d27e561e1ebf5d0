"""Images of an uploaded QTI package: stored with the version, served, shown, refused."""

from __future__ import annotations

import html
import json

from item_banks.formats.qti_package import read_qti_package
from item_banks.native import encode_bank
from tests.item_banks.formats.test_audio_video import MP3
from tests.item_banks.formats.test_audio_video import PACKAGE as SOUNDS
from tests.item_banks.formats.test_media import PACKAGE, PNG
from tests.web.conftest import Site
from web.markdown import render


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


def test_package_audio_and_video_are_stored_served_and_shown_as_native_players(
    site: Site,
) -> None:
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=sounds.zip", content=SOUNDS, headers=site.auth()
    )
    assert uploaded.status_code == 201, uploaded.text
    assert any("no transcript is kept" in w for w in uploaded.json()["warnings"])
    files = {f.content_type: f for f in read_qti_package(SOUNDS, "sounds.zip").bank.media}
    served = site.client.get(f"/media/{files['audio/mpeg'].sha256}")
    assert served.status_code == 200
    assert served.content == MP3
    assert served.headers["content-type"] == "audio/mpeg"
    assert "media-src 'self'" in served.headers["content-security-policy"]
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Sounds",
            "bank_hash": uploaded.json()["hash"],
            "policy": {"stopping": {"rule": "fixed_length", "n": 1}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    session = site.client.post(f"/api/v1/assessments/{created.json()['id']}/sessions", json={})
    page = html.unescape(site.client.get(f"/s/{session.json()['id']}").text)
    audio = f"/media/{files['audio/mpeg'].sha256}"
    assert (
        '<audio controls preload="none" aria-label="The word cat" title="The word cat">'
        f'<source src="{audio}" type="audio/mpeg"><a href="{audio}">The word cat (audio)</a>'
        "</audio>"
    ) in page
    video = f"/media/{files['video/mp4'].sha256}"
    assert (
        '<video controls preload="none" aria-label="A cat walking" title="A cat walking">'
        f'<source src="{video}" type="video/mp4">'
    ) in page
    assert "autoplay" not in page
    assert files["audio/mpeg"].path not in page  # every bank path became its URL


def test_only_a_served_media_file_is_drawn_as_a_player() -> None:
    html_out = render('![Song](https://example.org/a.mp3 "audio/mpeg")')
    assert "<audio" not in html_out
    assert '<img src="https://example.org/a.mp3" alt="Song"' in html_out
    assert render('![Pic](/media/abc "image/png")').startswith('<p><img src="/media/abc"')
    assert render('![Clip <b>](/media/abc "video/webm")') == (
        '<p><video controls preload="none" aria-label="Clip &lt;b&gt;" title="Clip &lt;b&gt;">'
        '<source src="/media/abc" type="video/webm"><a href="/media/abc">Clip &lt;b&gt; (video)'
        "</a></video></p>\n"
    )
