"""Images of a QTI package: kept as the bank's media, checked by their bytes, exported back."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import msgspec
import pytest

from item_banks.errors import Problem
from item_banks.formats import registry
from item_banks.formats.common import ImportResult
from item_banks.formats.media import media_file, sniff
from item_banks.formats.qti3_export import export_bank
from item_banks.formats.qti_package import read_qti_package
from item_banks.formats.registry import read_any
from item_banks.model import MAX_MEDIA_BYTES, MAX_MEDIA_FILES, MediaFile
from item_banks.validation import check_bank

#: A real 1 x 1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"

ITEM = f"""<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="{NS}" identifier="tri" title="Triangle" adaptive="false"
  time-dependent="false">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <p>How many sides? <img src="../images/triangle.png" alt="A triangle"/></p>
    <p><img src="../images/logo.svg" alt="Logo"/> <img src="../images/gone.png" alt="Gone"/></p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="A">Three</qti-simple-choice>
      <qti-simple-choice identifier="B">Four</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
  <qti-response-processing
    template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"/>
</qti-assessment-item>
"""

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="pics">
  <organizations/>
  <resources>
    <resource identifier="R1" type="imsqti_item_xmlv3p0" href="items/tri.xml">
      <file href="items/tri.xml"/><file href="images/triangle.png"/></resource>
  </resources>
</manifest>
"""


def package(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PACKAGE = package(
    {
        "imsmanifest.xml": MANIFEST.encode(),
        "items/tri.xml": ITEM.encode(),
        "images/triangle.png": PNG,
        "images/logo.svg": SVG,
    }
)


def test_types_are_read_from_the_bytes() -> None:
    assert sniff(PNG) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff(b"GIF89a....") == "image/gif"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(SVG) is None
    assert sniff(b"<html>") is None
    assert media_file(SVG) == "an SVG image, which can hold script: not kept (use PNG)"
    assert media_file(b"\x89PNG\r\n\x1a\n" + bytes(MAX_MEDIA_BYTES)) == (
        f"{MAX_MEDIA_BYTES + 8:,} bytes; the limit is {MAX_MEDIA_BYTES:,}"
    )
    kept = media_file(PNG)
    assert isinstance(kept, MediaFile)
    assert kept.path == f"media/{kept.sha256[:16]}.png"
    assert kept.size == len(PNG)


def test_a_package_image_is_kept_and_others_are_warned_located() -> None:
    result = read_qti_package(PACKAGE, "pics.zip")
    (file,) = result.bank.media
    assert file.content_type == "image/png"
    assert result.media == {file.sha256: PNG}
    stem = result.bank.items[0].stem
    assert f"![A triangle]({file.path})" in stem
    lines = [str(w) for w in result.warnings if "image" in w.message or "media" in w.message]
    assert lines == [
        'pics.zip!items/tri.xml: item "tri": line 10 <img>: the image '
        "'../images/logo.svg' is not kept: an SVG image, which can hold script: not kept "
        "(use PNG)",
        'pics.zip!items/tri.xml: item "tri": line 10 <img>: the image '
        "'../images/gone.png' is not kept: names no file in the package",
    ]


def test_media_survive_import_export_import() -> None:
    first = read_qti_package(PACKAGE, "pics.zip")
    data, notes = export_bank(first.bank, "out.zip", first.media)
    assert not [n for n in notes if "media" in n.message]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (path,) = [p.path for p in first.bank.media]
        assert archive.read(path) == PNG
        item = archive.read("items/tri.xml").decode()
        assert f'<img src="../{path}" alt="A triangle"/>' in item
        assert f'href="{path}"' in archive.read("imsmanifest.xml").decode()
    again = read_qti_package(data, "out.zip")
    assert again.bank.media == first.bank.media
    assert again.media == first.media
    assert again.bank.items == first.bank.items


def test_without_the_bytes_the_media_are_noted_not_carried() -> None:
    first = read_qti_package(PACKAGE, "pics.zip")
    data, notes = export_bank(first.bank, "out.zip")
    (path,) = [p.path for p in first.bank.media]
    assert [str(n) for n in notes if "media" in n.message] == [
        f"out.zip: media[0]: not carried: the media file {path} (its bytes are not at hand)"
    ]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert path not in archive.namelist()


@pytest.mark.parametrize("src", ["http://example.org/a.png", "data:image/png;base64,AAAA"])
def test_external_images_are_not_fetched(src: str) -> None:
    item = ITEM.replace("../images/triangle.png", src)
    data = package({"imsmanifest.xml": MANIFEST.encode(), "items/tri.xml": item.encode()})
    result = read_qti_package(data, "ext.zip")
    assert result.bank.media == ()
    assert any(f"the media file {src!r} is not kept" in str(w) for w in result.warnings)


def write_any(path: Path, result: ImportResult) -> list[Problem]:
    return registry.write_any(result.bank, path, media=result.media)


def test_convert_keeps_media_in_a_package_and_says_a_native_file_cannot(tmp_path: Path) -> None:
    source = tmp_path / "pics.zip"
    source.write_bytes(PACKAGE)
    result = read_any(source)
    out = tmp_path / "out.zip"
    assert not [n for n in write_any(out, result) if "media" in n.message]
    assert read_any(out).media == result.media
    native = tmp_path / "out.yaml"
    notes = [str(n) for n in write_any(native, result) if "media" in (n.field or "")]
    assert notes == [
        f"{native}: media: not carried: the bytes of 1 media files (a native file lists them "
        "only; write a QTI package to keep them)"
    ]


def test_a_bank_listing_too_many_media_files_is_refused() -> None:
    bank = read_qti_package(PACKAGE, "pics.zip").bank
    (file,) = bank.media
    many = tuple(
        msgspec.structs.replace(file, path=f"media/{i:016x}.png")
        for i in range(MAX_MEDIA_FILES + 1)
    )
    found = [str(p) for p in check_bank(msgspec.structs.replace(bank, media=many), "b.zip")]
    assert f"b.zip: media: {MAX_MEDIA_FILES + 1:,} media files; the limit is 1,000" in found
    twice = [str(p) for p in check_bank(msgspec.structs.replace(bank, media=(file, file)), "b")]
    assert f'b: media: path "{file.path}" is used more than once' in twice
