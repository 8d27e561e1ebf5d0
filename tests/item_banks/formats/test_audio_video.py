"""Audio and video of a QTI package: kept as bank media by their bytes, warned, exported back."""

from __future__ import annotations

import io
import zipfile

import msgspec
import pytest

from item_banks.formats import media as media_module
from item_banks.formats.media import media_file, player, sniff
from item_banks.formats.qti3_export import export_bank
from item_banks.formats.qti_package import read_qti_package
from item_banks.model import MAX_AUDIO_VIDEO_BYTES, MediaFile
from item_banks.validation import check_bank
from tests.item_banks.formats.test_media import NS, PNG, package

#: Minimal headers the magic-number check accepts (no real media needed to keep a file).
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + bytes(64)
OGG = b"OggS\x00\x02" + bytes(64)
MP4 = b"\x00\x00\x00\x18ftypisom" + bytes(64)

ITEM = f"""<?xml version="1.0" encoding="UTF-8"?>
<qti-assessment-item xmlns="{NS}" identifier="cat" title="Cat" adaptive="false"
  time-dependent="false">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>
  <qti-item-body>
    <p>Listen: <audio controls="controls"><source src="../media/word.mp3" type="audio/mpeg"/>The
      word cat</audio></p>
    <p><video src="../media/clip.mp4" title="A cat walking"/></p>
    <p><object data="../media/chant.ogg" type="audio/ogg">A chant</object></p>
    <p><audio src="../media/fake.mp3">Not audio</audio></p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="A">Cat</qti-simple-choice>
      <qti-simple-choice identifier="B">Dog</qti-simple-choice>
    </qti-choice-interaction>
  </qti-item-body>
  <qti-response-processing
    template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"/>
</qti-assessment-item>
"""

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="sounds">
  <organizations/>
  <resources>
    <resource identifier="R1" type="imsqti_item_xmlv3p0" href="items/cat.xml">
      <file href="items/cat.xml"/></resource>
  </resources>
</manifest>
"""

PACKAGE = package(
    {
        "imsmanifest.xml": MANIFEST.encode(),
        "items/cat.xml": ITEM.encode(),
        "media/word.mp3": MP3,
        "media/clip.mp4": MP4,
        "media/chant.ogg": OGG,
        "media/fake.mp3": PNG,
    }
)


def test_audio_and_video_types_are_read_from_the_bytes() -> None:
    assert sniff(MP3) == "audio/mpeg"
    assert sniff(b"\xff\xfb\x90\x00" + bytes(8)) == "audio/mpeg"  # a bare frame sync
    assert sniff(OGG) == "audio/ogg"
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert sniff(MP4) == "video/mp4"
    assert sniff(b"\x00\x00\x00\x20ftypM4A \x00") == "audio/mp4"
    assert sniff(b"\x1a\x45\xdf\xa3\x00") == "video/webm"
    assert sniff(b"ID") is None
    kept = media_file(MP3)
    assert isinstance(kept, MediaFile)
    assert kept.path == f"media/{kept.sha256[:16]}.mp3"
    assert player(kept.path) == "audio"
    assert player("media/0123456789abcdef.png") is None
    # audio and video may be larger than an image (2 MB), up to their own limit
    assert isinstance(media_file(MP4 + bytes(3_000_000)), MediaFile)
    assert media_file(MP4 + bytes(MAX_AUDIO_VIDEO_BYTES)) == (
        f"{len(MP4) + MAX_AUDIO_VIDEO_BYTES:,} bytes; the limit is {MAX_AUDIO_VIDEO_BYTES:,}"
    )


def test_package_audio_and_video_are_kept_with_located_accessibility_warnings() -> None:
    result = read_qti_package(PACKAGE, "sounds.zip")
    by_type = {f.content_type: f for f in result.bank.media}
    assert set(by_type) == {"audio/mpeg", "video/mp4", "audio/ogg"}
    assert result.media == {
        by_type["audio/mpeg"].sha256: MP3,
        by_type["video/mp4"].sha256: MP4,
        by_type["audio/ogg"].sha256: OGG,
    }
    stem = result.bank.items[0].stem
    assert f"![The word cat]({by_type['audio/mpeg'].path})" in stem
    assert f"![A cat walking]({by_type['video/mp4'].path})" in stem
    assert f"![A chant]({by_type['audio/ogg'].path})" in stem
    warnings = [f"{w.item} {w.field}: {w.message}" for w in result.warnings]
    kept = "is kept as bank media, played with native controls; no {} is kept with it, so "
    need = "learners who cannot hear it need one in the item text"
    assert warnings[:3] == [
        f"cat line 9 <audio>: the audio '../media/word.mp3' {kept.format('transcript')}{need}",
        f"cat line 11 <video>: the video '../media/clip.mp4' {kept.format('captions')}{need}",
        f"cat line 12 <object>: the audio '../media/chant.ogg' {kept.format('transcript')}{need}",
    ]
    assert (
        "cat line 13 <audio>: the audio file '../media/fake.mp3' is not kept: an image, not audio"
        in warnings
    )
    assert sum("fake.mp3" in w for w in warnings) == 1  # not warned again as media not kept
    assert "Not audio" in stem  # the reference's text stays


def test_audio_and_video_survive_import_export_import() -> None:
    first = read_qti_package(PACKAGE, "sounds.zip")
    data, notes = export_bank(first.bank, "out.zip", first.media)
    assert notes == []
    again = read_qti_package(data, "out.zip")
    assert again.bank.media == first.bank.media
    assert again.media == first.media
    assert again.bank.items == first.bank.items
    assert check_bank(again.bank, "out.zip") == []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        item = archive.read("items/cat.xml").decode()
    audio = next(f for f in first.bank.media if f.content_type == "audio/mpeg")
    assert (
        f'<audio controls="controls" title="The word cat"><source src="../{audio.path}" '
        'type="audio/mpeg"/></audio>'
    ) in item


def test_a_too_large_audio_file_is_not_kept_and_warned_located(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(media_module, "MAX_AUDIO_VIDEO_BYTES", 50)
    result = read_qti_package(PACKAGE, "sounds.zip")
    assert result.bank.media == ()
    warnings = [f"{w.item} {w.field}: {w.message}" for w in result.warnings]
    assert (
        f"cat line 9 <audio>: the audio file '../media/word.mp3' is not kept: {len(MP3):,} bytes; "
        "the limit is 50" in warnings
    )
    assert "[audio" not in result.bank.items[0].stem


def test_a_bank_naming_an_audio_file_as_an_image_is_refused() -> None:
    bank = read_qti_package(PACKAGE, "sounds.zip").bank
    audio = next(f for f in bank.media if f.content_type == "audio/mpeg")
    wrong = MediaFile(
        path=audio.path, content_type="image/png", sha256=audio.sha256, size=audio.size
    )
    problems = check_bank(msgspec.structs.replace(bank, media=(wrong,)), "b.json")
    assert any(f"{audio.path} is not named for image/png" in p.message for p in problems)
