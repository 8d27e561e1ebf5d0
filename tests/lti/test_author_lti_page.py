"""The author page for LTI platforms without JavaScript: the list, the registration form with
every problem located, and each platform's launches with where their scores stand."""

from __future__ import annotations

import html
import re

from tests.lti.simulator import Platform
from tests.lti.test_lti_flow import launch, login, platform, poster, sqlite_site  # noqa: F401
from tests.web.conftest import Site


def test_register_from_the_page_with_every_problem_located_then_see_the_launches(
    sqlite_site: Site,  # noqa: F811
    platform: Platform,  # noqa: F811
) -> None:
    site = sqlite_site
    empty = site.client.get("/author/lti", headers=site.auth())
    assert empty.status_code == 200
    assert "None yet." in empty.text and site.runtime.settings.base_url + "/lti/login" in empty.text
    assert '<a href="/author/lti">LTI</a>' in empty.text  # in the author nav
    bad = {
        **platform.registration(),
        "name": "",
        "deployment_ids": " \n ",
        "jwks_url": "ftp://example.org/jwks",
        "token_url": "x" * 2001,
        "_csrf_token": site.csrf(),
    }
    reply = site.client.post("/author/lti", data=bad, headers=site.auth())
    assert reply.status_code == 422, reply.text
    text = html.unescape(reply.text)
    for field in ("name", "deployment_ids", "jwks_url", "token_url"):
        assert f'<a href="#lti-{field}">' in text, field  # each problem links to its field
        assert re.search(rf'id="lti-{field}"[^>]*aria-invalid="true"', text), field
    assert 'id="lti-issuer" name="issuer" value="' + platform.issuer in text  # values kept
    assert 'id="lti-issuer"' in text and not re.search(r'id="lti-issuer"[^>]*aria-invalid', text)
    good = {
        **platform.registration(),
        "deployment_ids": "deployment-1\ndeployment-2",
        "_csrf_token": site.csrf(),
    }
    created = site.client.post(
        "/author/lti", data=good, headers=site.auth(), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    page_url = created.headers["location"]
    platform.tool_jwks = site.client.get("/lti/jwks").json()
    listed = site.client.get("/author/lti", headers=site.auth()).text
    assert f'href="{page_url}"' in listed and "deployment-1, deployment-2" in listed
    again = site.client.post("/author/lti", data=good, headers=site.auth())
    assert again.status_code == 422 and "already registered" in again.text
    detail = site.client.get(page_url, headers=site.auth())
    assert detail.status_code == 200 and "No launches yet." in detail.text
    # A learner launches; the page shows the launch and its score waiting for the end.
    token, state = platform.id_token(
        login(site, platform, "learner-7"), platform.resource_link(site.assessment_id)
    )
    assert launch(site, token, state).status_code == 303
    assert poster(site).run_once() == 0
    shown = site.client.get(page_url, headers=site.auth()).text
    row = re.search(r"<tr><th scope=\"row\"><code>learner-7</code>.*?</tr>", shown, re.S)
    assert row is not None and "waiting" in row.group(0) and "link-1" in row.group(0)
    # Signed out: the sign-in page, not the platforms.
    site.client.cookies.clear()
    assert site.client.get("/author/lti", follow_redirects=False).status_code in (302, 303)
