"""Composite questions on the learner page: labelled blanks, native selects, keyless pages.

The bank holds a code cloze (a text blank, an inline choice, a number) and an item of block
fields (gap match, associate, hot text). The page must label every control, show inline
choices and gaps as native selects in this session's ids, keep keys out of the page, accept
the form's ``f:`` controls, and explain the answer field by field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.item_banks.helpers import raw_bank
from tests.item_banks.test_composite import block_item, cloze
from tests.web.conftest import Site, form_fields
from web.answers import OptionIds


def composite_assessment(site: Site) -> str:
    raw = raw_bank(0)
    raw["items"] = [cloze(solution="0 + 1 + 2 = 3."), block_item()]
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=cloze.json",
        content=json.dumps(raw).encode(),
        headers=site.auth(),
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Cloze",
            "bank_hash": uploaded.json()["hash"],
            "policy": {"stopping": {"rule": "fixed_length", "n": 2}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def start(site: Site, assessment_id: str) -> str:
    started = site.client.post(
        f"/a/{assessment_id}/start", data={"_csrf_token": site.csrf()}, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    return str(started.headers["location"]).rsplit("/", 1)[1]


def answer_cloze(site: Site, sid: str, page: str, **controls: str) -> Any:
    data = {"_csrf_token": site.csrf(), **form_fields(page), **controls}
    return site.client.post(f"/s/{sid}/answer", data=data, follow_redirects=False)


def test_composite_questions_render_labelled_and_are_answered_field_by_field(site: Site) -> None:
    assessment = composite_assessment(site)
    sid = start(site, assessment)
    ids = OptionIds(site.runtime.settings.secret_key, sid)
    seen = set()
    for _ in range(2):
        page = site.client.get(f"/s/{sid}").text
        fields = form_fields(page)
        assert fields["kind"] == "composite"
        seen.add(fields["item_id"])
        if fields["item_id"] == "cloze":
            # blanks inside the code and the sentence, each labelled by its position
            assert re.search(r'for x in <input class="blank" type="text" id="f:loop"', page)
            assert 'aria-label="Blank 1 of 3"' in page
            assert 'aria-label="Blank 3 of 3 (a number)"' in page
            plus = ids.shown("cloze", "plus", "op")
            assert '<select class="blank" id="f:op" name="f:op" aria-label="Blank 2 of 3">' in page
            assert f'<option value="{plus}">Option plus</option>' in page
            assert 'value="plus"' not in page and "range" not in page.split("<form")[1]
            posted = answer_cloze(site, sid, page, **{"f:loop": "range", "f:op": plus})
            assert posted.status_code == 303, posted.text
            feedback = site.client.get(posted.headers["location"]).text
            assert "Partly right" in feedback or "partly right" in feedback.lower()
            assert "range(3) yields 0, 1, 2." in feedback  # the blank's own rationale
            assert "Blank 3 of 3" in feedback and "(left blank)" in feedback
            assert "0 + 1 + 2 = 3." in feedback  # the worked solution
        else:
            g1 = ids.shown("blocks", "G1", "gaps:t")
            g2 = ids.shown("blocks", "G2", "gaps:t")
            dict_, list_ = (ids.shown("blocks", s, "gaps:s") for s in ("dict", "list"))
            a, b = ids.shown("blocks", "_a", "pairs"), ids.shown("blocks", "b", "pairs")
            c, d = ids.shown("blocks", "c", "pairs"), ids.shown("blocks", "d", "pairs")
            h2 = ids.shown("blocks", "h2", "hot")
            assert 'aria-label="Blank 1 of 3: Gap 1 of 2"' in page
            assert f'name="f:gaps:gap:{g1}"' in page
            assert 'name="f:pairs:pair:2:b"' in page and 'name="f:pairs:pair:3:a"' not in page
            assert f'type="radio" name="f:hot" id="f:hot-{h2}"' in page
            controls = {
                f"f:gaps:gap:{g1}": dict_,
                f"f:gaps:gap:{g2}": list_,
                "f:pairs:pair:1:a": b,
                "f:pairs:pair:1:b": a,
                "f:pairs:pair:2:a": c,
                "f:pairs:pair:2:b": d,
                "f:hot": h2,
            }
            posted = answer_cloze(site, sid, page, **controls)
            assert posted.status_code == 303, posted.text
            feedback = site.client.get(posted.headers["location"]).text
            assert '<h2 id="verdict">Right' in feedback
    assert seen == {"cloze", "blocks"}


def test_an_empty_composite_answer_is_refused_and_a_half_pair_is_named(site: Site) -> None:
    assessment = composite_assessment(site)
    sid = start(site, assessment)
    page = site.client.get(f"/s/{sid}").text
    refused = answer_cloze(site, sid, page, **{"f:loop": "  "})
    assert refused.status_code == 422
    assert "Fill in at least one blank." in refused.text
    half = answer_cloze(site, sid, page, **{"f:pairs:pair:1:a": "x"})
    assert half.status_code == 422
    assert "choose both ends of each pair, or neither" in half.text


def image_item() -> dict[str, Any]:
    """A hotspot and a graphic gap match on an image the bank lacks (a media path only)."""
    image = "![A map of three towns](media/0123456789abcdef.png)"
    areas = [
        {"id": "n", "shape": "circle", "coords": [50, 20, 10]},
        {"id": "s", "shape": "rect", "coords": [40, 70, 60, 90]},
    ]
    towns = [{"id": "n", "text": "Northern dot"}, {"id": "s", "text": "Southern square"}]
    return {
        "id": "map",
        "competency": "c1",
        "stem": "A map.\n\n{{spot}}\n\n{{tags}}",
        "interaction": {
            "type": "composite",
            "fields": [
                {
                    "id": "spot",
                    "interaction": {
                        "type": "hotspot", "image": image, "width": 100, "height": 100,
                        "options": towns, "areas": areas, "key": ["s"], "max_choices": 1,
                    },
                },
                {
                    "id": "tags",
                    "interaction": {
                        "type": "graphic_gap_match", "image": image, "width": 100,
                        "height": 100, "targets": towns, "areas": areas,
                        "sources": [{"id": "York", "text": "York"}, {"id": "Bath", "text": "Bath"}],
                        "key": [
                            {"source": "York", "target": "n"},
                            {"source": "Bath", "target": "s"},
                        ],
                    },
                },
            ],
        },
        "irt": {"model": "gpcm", "a": 1.0, "thresholds": [-0.5, 0.5]},
    }  # fmt: skip


def test_image_areas_are_labelled_controls_and_a_missing_image_is_its_alt_text(
    site: Site,
) -> None:
    raw = raw_bank(0)
    raw["items"] = [image_item()]
    uploaded = site.client.post(
        "/api/v1/author/banks?filename=map.json",
        content=json.dumps(raw).encode(),
        headers=site.auth(),
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    created = site.client.post(
        "/api/v1/author/assessments",
        json={
            "title": "Map",
            "bank_hash": uploaded.json()["hash"],
            "policy": {"stopping": {"rule": "fixed_length", "n": 1}},
        },
        headers=site.auth(),
    )
    assert created.status_code == 201, created.text
    sid = start(site, str(created.json()["id"]))
    ids = OptionIds(site.runtime.settings.secret_key, sid)
    page = site.client.get(f"/s/{sid}").text
    # the bank lacks the file: no request for it, its alt text instead
    assert "<img" not in page.split("<form")[1] and "[image: A map of three towns]" in page
    south = ids.shown("map", "s", "spot")
    assert f'value="{south}"' in page and 'value="s"' not in page
    assert re.search(r'<label for="f:spot-2">Area 2: Southern square</label>', page)
    north_gap = ids.shown("map", "n", "tags:t")
    south_gap = ids.shown("map", "s", "tags:t")
    assert re.search(rf'<label for="f:tags:gap:{north_gap}">Area 1: Northern dot</label>', page)
    york, bath = (ids.shown("map", s, "tags:s") for s in ("York", "Bath"))
    controls = {"f:spot": south, f"f:tags:gap:{north_gap}": york, f"f:tags:gap:{south_gap}": bath}
    posted = answer_cloze(site, sid, page, **controls)
    assert posted.status_code == 303, posted.text
    feedback = site.client.get(posted.headers["location"]).text
    assert '<h2 id="verdict">Right' in feedback
