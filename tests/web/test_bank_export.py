"""A stored bank version downloads as a QTI 3.0 package (with its media) or native JSON/YAML,
for roles that may see answer keys, and never where a bank was shared without them."""

from __future__ import annotations

import io
import zipfile

import msgspec

from item_banks.formats.qti3_export import not_carried
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.registry import read_bytes
from item_banks.native import content_hash
from tests.item_banks.formats.test_media import PACKAGE
from tests.web.conftest import Site
from web.authoring import create_author
from web.store.banks import load_bank


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _digest(site: Site) -> str:
    with site.runtime.db.read() as conn:
        return site.runtime.assessment(conn, site.assessment_id).bank_hash


def test_native_exports_are_the_stored_version_byte_for_byte_in_content(site: Site) -> None:
    digest = _digest(site)
    for fmt, suffix in (("json", ".json"), ("yaml", ".yaml")):
        reply = site.client.get(
            f"/api/v1/author/banks/{digest}/export?format={fmt}", headers=site.auth()
        )
        assert reply.status_code == 200, reply.text
        disposition = reply.headers["content-disposition"]
        assert disposition.startswith("attachment; filename=") and disposition.endswith(
            f'{suffix}"'
        )
        bank = read_bytes(reply.content, f"again{suffix}").bank
        assert content_hash(bank) == digest  # nothing lost, nothing added
        assert reply.headers["skillgauge-not-carried"] == "0"


def test_the_qti_package_reimports_every_item_and_counts_what_it_cannot_carry(
    site: Site,
) -> None:
    digest = _digest(site)
    reply = site.client.get(f"/api/v1/author/banks/{digest}/export", headers=site.auth())
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/zip"
    with site.runtime.db.read() as conn:
        stored = load_bank(conn, digest)
    assert stored is not None
    assert reply.headers["skillgauge-not-carried"] == str(len(not_carried(stored, "x")))
    again = read_qti_package(reply.content, "export.zip").bank
    assert [(i.id, i.competency) for i in again.items] == [
        (i.id, i.competency) for i in stored.items
    ]
    assert [type(i.interaction) for i in again.items] == [type(i.interaction) for i in stored.items]


def test_a_package_exports_with_its_image_bytes(site: Site) -> None:
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=pics.zip", content=PACKAGE, headers=site.auth()
    )
    assert uploaded.status_code == 201, uploaded.text
    digest = uploaded.json()["hash"]
    reply = site.client.get(f"/author/banks/{digest}/export?format=qti", headers=site.auth())
    assert reply.status_code == 200, reply.text
    (media,) = read_qti_package(PACKAGE, "pics.zip").bank.media
    with zipfile.ZipFile(io.BytesIO(reply.content)) as archive:
        assert media.path in archive.namelist()
    again = read_qti_package(reply.content, "again.zip")
    assert [m.sha256 for m in again.bank.media] == [media.sha256]


def test_export_follows_roles_sharing_and_organisations(site: Site) -> None:
    digest = _digest(site)
    url = f"/api/v1/author/banks/{digest}/export?format=json"
    _, viewer = create_author(site.runtime, "viewer@demo.example", org="demo", role="viewer")
    refused = site.client.get(url, headers=_bearer(viewer))
    assert refused.status_code == 403 and "(viewer)" in refused.text
    _, psychometrician = create_author(
        site.runtime, "psy@demo.example", org="demo", role="psychometrician"
    )
    assert site.client.get(url, headers=_bearer(psychometrician)).status_code == 200
    other, token = create_author(site.runtime, "owner@b.example")
    assert site.client.get(url, headers=_bearer(token)).status_code == 404
    shared = site.client.post(
        "/api/v1/author/shares",
        json={"bank_hash": digest, "organisation": other.org_slug},
        headers=site.auth(),
    )
    assert shared.status_code == 201 and shared.json()["with_keys"] is False
    without_keys = site.client.get(url, headers=_bearer(token))
    assert without_keys.status_code == 403
    assert "without its answer keys" in without_keys.json()["detail"]
    page = site.client.get(f"/author/banks/{digest}", headers=_bearer(token))
    assert page.status_code == 200 and "/export?format=" not in page.text
    site.client.post(f"/api/v1/author/shares/{shared.json()['id']}/withdraw", headers=site.auth())
    with_keys = site.client.post(
        "/api/v1/author/shares",
        json={"bank_hash": digest, "organisation": other.org_slug, "with_keys": True},
        headers=site.auth(),
    )
    assert with_keys.status_code == 201, with_keys.text
    exported = site.client.get(url, headers=_bearer(token))
    assert exported.status_code == 200
    assert content_hash(read_bytes(exported.content, "b.json").bank) == digest


def test_the_bank_page_lists_items_with_notes_and_the_downloads(site: Site) -> None:
    digest = _digest(site)
    with site.runtime.db.read() as conn:
        bank = load_bank(conn, digest)
    assert bank is not None
    page = site.client.get(f"/author/banks/{digest}", headers=site.auth())
    assert page.status_code == 200
    for item in bank.items:
        assert f"<code>{item.id}</code>" in page.text
    assert f"/author/banks/{digest}/export?format=qti" in page.text
    assert "What the QTI package does not carry" in page.text
    noted = msgspec.structs.replace(bank.items[0], notes="Rubric: **full credit** for the method.")
    changed = msgspec.structs.replace(bank, items=(noted, *bank.items[1:]), version="notes")
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=notes.json",
        content=msgspec.json.encode(changed),
        headers=site.auth(),
    )
    assert uploaded.status_code == 201, uploaded.text
    page = site.client.get(f"/author/banks/{uploaded.json()['hash']}", headers=site.auth())
    assert "Rubric: <strong>full credit</strong> for the method." in page.text
