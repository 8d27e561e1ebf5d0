"""QTI content packages (a zip with ``imsmanifest.xml``) of QTI 3.0 or 2.x items.

The manifest lists the item resources (type ``imsqti_item_xmlv3p0``, ``..._xmlv2p1``...).
Each resource's metadata may carry curriculum-standards tags
(``curriculumStandardsMetadataSet`` / ``labelledGUID``: the label names the skill, the GUID
identifies it); the first tag becomes the item's competency, further tags content areas.
The manifest's LOM title and version become the bank's title and version; its identifier the
bank id (else the file name). Items listed in the manifest's ``skillgauge:pretest`` tags
(written by :mod:`item_banks.formats.qti3_export`) keep their pretest status.

IRT parameters are read from QTI usage data (a resource whose type contains ``usagedata``,
or any file whose root is ``usageData`` / ``qti-usage-data``): ``ordinaryStatistic``
elements naming the item in ``targetObject`` with these statistic names (case and ``_``/``-``
are ignored), all in the logistic metric with D = 1:

* ``irt-MODEL-PARAM`` with MODEL one of ``1pl 2pl 3pl 4pl grm gpcm`` and PARAM one of
  ``a b c d`` or ``threshold-K`` (K = 1, 2...): e.g. ``irt-3pl-a``, ``irt-grm-threshold-2``;
* a ``stdError`` (``std-error``) attribute gives the parameter's standard error.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from lxml import etree

from item_banks.errors import BankValidationError, Problem
from item_banks.formats import qti2_import, qti3_import
from item_banks.formats.common import Collected, ImportResult, assemble, skill, slug
from item_banks.formats.media import media_file, player
from item_banks.formats.qti3_export import COMPETENCIES, CONTENT_AREAS, PRETEST
from item_banks.formats.safe_xml import local, namespace, parse_xml, where
from item_banks.formats.safe_zip import read_package
from item_banks.model import Competency, ContentArea, MediaFile
from item_banks.native import DEFAULT_LIMITS, Limits

_STAT = re.compile(r"^irt-(?P<model>[1-4]pl|grm|gpcm)-(?P<param>[abcd]|threshold-\d+)$")


def _descendants(element: etree._Element, *names: str) -> list[etree._Element]:
    return [e for e in element.iter() if isinstance(e.tag, str) and local(e) in names]


def _text(element: etree._Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _exact(element: etree._Element | None) -> str:
    """The element's text as written, or ``""`` when it is only whitespace."""
    text = "".join(element.itertext()) if element is not None else ""
    return text if text.strip() else ""


def _tags(holder: etree._Element) -> list[tuple[str, str]]:
    """``(GUID, label)`` of every ``labelledGUID`` under ``holder``, labels as written."""
    found: list[tuple[str, str]] = []
    for labelled in _descendants(holder, "labelledGUID"):
        label = _exact(next(iter(_descendants(labelled, "label")), None))
        guid = _text(next(iter(_descendants(labelled, "GUID")), None))
        if label or guid:
            found.append((skill(label or guid, guid or None)[0], label or guid))
    return found


def skills_of(metadata: etree._Element | None) -> tuple[tuple[str, str], ...]:
    """Curriculum-standards tags ``(GUID, label)`` in a resource's metadata.

    The first names the item's competency, the others its content areas.
    """
    if metadata is None:
        return ()
    found = _tags(metadata)
    areas: dict[str, str] = {}
    for guid, label in found[1:]:
        areas.setdefault(guid, label)
    return tuple(found[:1] + list(areas.items()))


def bank_tags(metadata: etree._Element | None, provider: str) -> list[tuple[str, str]] | None:
    """The manifest's list of the bank's competencies or content areas, or None.

    Skillgauge writes them under ``providerId``
    :data:`~item_banks.formats.qti3_export.COMPETENCIES` and ``CONTENT_AREAS``.
    """
    if metadata is None:
        return None
    for entry in _descendants(metadata, "curriculumStandardsMetadata"):
        if entry.get("providerId") == provider and entry.getparent() is not None:
            return _tags(entry)
    return None


def _lom_string(metadata: etree._Element | None, field: str) -> str:
    if metadata is None:
        return ""
    for element in _descendants(metadata, field):
        text = _exact(next(iter(_descendants(element, "string", "langstring")), element))
        if text:
            return text
    return ""


def read_usage_data(
    root: etree._Element, source: str, problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    """IRT parameters per item identifier from a usage-data document."""
    values: dict[str, dict[str, tuple[float, float | None]]] = defaultdict(dict)
    for stat in _descendants(root, "ordinaryStatistic", "qti-ordinary-statistic"):
        name = stat.get("name", "").lower().replace("_", "-")
        match = _STAT.match(name)
        if not match:
            continue
        value_element = next(iter(_descendants(stat, "value", "qti-value")), None)
        try:
            value = float(_text(value_element))
            error_text = stat.get("stdError", stat.get("std-error"))
            error = float(error_text) if error_text is not None else None
        except ValueError:
            problems.append(
                Problem(source=source, field=where(stat), message=f"{name}: not a number")
            )
            continue
        key = f"{match.group('model')}:{match.group('param')}"
        for target in _descendants(stat, "targetObject", "qti-target-object"):
            values[target.get("identifier", "")][key] = (value, error)
    out: dict[str, dict[str, Any]] = {}
    for item_id, params in values.items():
        irt = _irt(params)
        if isinstance(irt, str):
            problems.append(Problem(source=source, item=item_id, field="usage data", message=irt))
        else:
            out[item_id] = irt
    return out


def _irt(params: dict[str, tuple[float, float | None]]) -> dict[str, Any] | str:
    models = {key.split(":")[0] for key in params}
    if len(models) != 1:
        return f"statistics name several models ({', '.join(sorted(models))})"
    model = models.pop()
    irt: dict[str, Any] = {"model": model}
    se: dict[str, Any] = {}
    steps = sorted(
        (int(key.split("-")[-1]), key) for key in params if key.split(":")[1].startswith("thr")
    )
    if model in ("grm", "gpcm"):
        if [k for k, _ in steps] != list(range(1, len(steps) + 1)) or not steps:
            return "thresholds must be numbered 1..K"
        irt["thresholds"] = [params[key][0] for _, key in steps]
        errors = [params[key][1] for _, key in steps]
        if all(e is not None for e in errors):
            se["thresholds"] = errors
    elif steps:
        return f"{model} has no thresholds"
    for name in ("a", "b", "c", "d"):
        key = f"{model}:{name}"
        if key in params:
            irt[name] = params[key][0]
            if params[key][1] is not None:
                se[name] = params[key][1]
    if se:
        irt["se"] = se
    return irt


def read_qti_package(data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS) -> ImportResult:
    """Read a QTI 3.0 or 2.x content package into a bank.

    Raises
    ------
    BankValidationError
        For an unsafe or malformed package, a manifest naming missing files, malformed items,
        or nothing importable; every problem located by member path, item and line.
    """
    files = read_package(data, source, limits=limits)
    manifest_data = files.get("imsmanifest.xml")
    if manifest_data is None:
        raise BankValidationError(
            [
                Problem(
                    source=source, message="not a content package: no imsmanifest.xml at its root"
                )
            ]
        )
    manifest_source = f"{source}!imsmanifest.xml"
    manifest = parse_xml(manifest_data, manifest_source, limits=limits)
    problems: list[Problem] = []
    collected = Collected()

    def member(href: str, base: str, element: etree._Element) -> str | None:
        path = posixpath.normpath(posixpath.join(base, href.replace("\\", "/")))
        if path.startswith("../") or path.startswith("/") or path == "..":
            problems.append(
                Problem(
                    source=manifest_source,
                    field=where(element),
                    message=f"href {href!r} escapes the package",
                )
            )
            return None
        if path not in files:
            problems.append(
                Problem(
                    source=manifest_source,
                    field=where(element),
                    message=f"href {href!r} names no file in the package",
                )
            )
            return None
        return path

    resources = _descendants(manifest, "resource")
    irt_by_item: dict[str, dict[str, Any]] = {}
    item_resources: list[tuple[etree._Element, str]] = []
    for resource in resources:
        kind = resource.get("type", "").lower()
        href = resource.get("href")
        base = resource.get("{http://www.w3.org/XML/1998/namespace}base", "")
        if href is None:
            continue
        path = (
            member(href, base, resource) if "usagedata" in kind or "imsqti_item" in kind else None
        )
        if path is None:
            continue
        if "usagedata" in kind:
            root = parse_xml(files[path], f"{source}!{path}", limits=limits)
            irt_by_item.update(read_usage_data(root, f"{source}!{path}", problems))
        else:
            item_resources.append((resource, path))
    if problems:
        raise BankValidationError(problems)
    if not item_resources:
        raise BankValidationError(
            [Problem(source=manifest_source, message="the manifest lists no QTI item resources")]
        )
    media: list[tuple[MediaFile, bytes]] = []
    for resource, path in item_resources:
        item_source = f"{source}!{path}"
        root = parse_xml(files[path], item_source, limits=limits)
        if qti2_import.is_qti2(root):
            root = qti2_import.to_qti3(root)
        elif namespace(root) != qti3_import.NS:
            collected.errors.append(
                Problem(
                    source=item_source,
                    field=where(root),
                    message=f"not a QTI 2.x or 3.0 item (namespace {namespace(root) or 'none'!r})",
                )
            )
            continue
        ident = root.get("identifier", "")
        kept = _keep_images(root, path, files, source=item_source, collected=collected, media=media)
        kept |= _keep_audio_video(
            root, path, files, source=item_source, collected=collected, media=media
        )
        context = qti3_import.ItemContext(
            skills=skills_of(next(iter(_descendants(resource, "metadata")), None)),
            irt=irt_by_item.get(ident) or irt_by_item.get(resource.get("identifier", "")),
            media=kept,
        )
        qti3_import.read_item(root, item_source, collected, context)
    metadata = next(
        (m for m in manifest if isinstance(m.tag, str) and local(m) == "metadata"), None
    )
    title = _lom_string(metadata, "title") or None
    version = _lom_string(metadata, "version") or "1"
    bank_id = manifest.get("identifier")
    pretest = {guid for guid, _ in bank_tags(metadata, PRETEST) or []}
    for draft in collected.drafts:
        if draft.raw.get("id") in pretest:
            draft.raw["status"] = "pretest"
    used = {draft.skills[0][0] for draft in collected.drafts if draft.skills}
    listed = bank_tags(metadata, COMPETENCIES) or []
    areas = bank_tags(metadata, CONTENT_AREAS) or []
    return assemble(
        collected,
        source=source,
        limits=limits,
        bank_id=slug(bank_id, "bank") if bank_id else None,
        title=title,
        version=version[:40],
        competencies=[
            Competency(id=guid, name=label[:200]) for guid, label in listed if guid in used
        ],
        content_areas=[ContentArea(id=guid, name=label[:200]) for guid, label in areas],
        media=media,
    )


def _keep_images(
    root: etree._Element,
    path: str,
    files: Mapping[str, bytes],
    *,
    source: str,
    collected: Collected,
    media: list[tuple[MediaFile, bytes]],
) -> frozenset[str]:
    """Keep the package's images an item shows.

    Each ``<img src>`` inside the package that is a PNG, JPEG, GIF or WebP file within the
    size limit is rewritten to its media path (and its bytes added to ``media``); any other
    is warned about, located, and left as is.
    Returns the ``src`` values handled here (kept or warned), which the item reader then
    does not warn about again.
    """
    kept: set[str] = set()
    raw_id = root.get("identifier", "")
    item = slug(raw_id, "item") if raw_id else "item"
    for element in root.iter():
        if not isinstance(element.tag, str) or local(element) != "img":
            continue
        src = (element.get("src") or "").strip()
        if not src or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src) or src.startswith("/"):
            continue  # external or absolute: warned about as media not kept
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), src.split("#")[0]))
        reason: str | None = None
        if target.startswith("..") or target not in files:
            reason = "names no file in the package"
        else:
            found = media_file(files[target])
            if isinstance(found, str):
                reason = found
            else:
                media.append((found, files[target]))
                element.set("src", found.path)
                kept.add(found.path)
        if reason is not None:
            kept.add(src)  # warned here, with the reason: not again as media not kept
            collected.warnings.append(
                Problem(
                    source=source,
                    item=item,
                    field=where(element),
                    message=f"the image {src!r} is not kept: {reason}",
                )
            )
    return frozenset(kept)


def _media_src(element: etree._Element) -> str:
    """The file an ``<audio>``, ``<video>`` or ``<object>`` plays (its first ``<source>``)."""
    src = (element.get("src") or element.get("data") or "").strip()
    if src:
        return src
    for child in element:
        if isinstance(child.tag, str) and local(child) == "source" and child.get("src"):
            return str(child.get("src")).strip()
    return ""


def _keep_audio_video(
    root: etree._Element,
    path: str,
    files: Mapping[str, bytes],
    *,
    source: str,
    collected: Collected,
    media: list[tuple[MediaFile, bytes]],
) -> frozenset[str]:
    """Keep the package's audio and video an item plays.

    Each ``<audio>``, ``<video>`` and ``<object>`` whose ``type`` is ``audio/*`` or
    ``video/*`` naming a package file that is MP3, Ogg, M4A or WAV audio or MP4 or WebM video
    within the size limit is replaced by an image of its media path (the text becomes
    ``![alt text](media/....mp3)``, the alt text being the element's text, else its title,
    else the file's name), which learner pages show as a native player. Each kept file is
    warned about, located, as having no transcript or captions a learner can read (they are
    not kept); a file not kept is warned about with the reason. Returns the paths handled
    here, which the item reader then does not warn about again.
    """
    kept: set[str] = set()
    raw_id = root.get("identifier", "")
    item = slug(raw_id, "item") if raw_id else "item"

    def warn(element: etree._Element, message: str) -> None:
        collected.warnings.append(
            Problem(source=source, item=item, field=where(element), message=message)
        )

    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        name = local(element)
        declared = (element.get("type") or "").split("/", 1)[0].strip().lower()
        if name not in ("audio", "video") and not (
            name == "object" and declared in ("audio", "video")
        ):
            continue
        kind = name if name != "object" else declared
        src = _media_src(element)
        if not src or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src) or src.startswith("/"):
            continue  # external or absolute: warned about as media not kept
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), src.split("#")[0]))
        if target.startswith("..") or target not in files:
            found: MediaFile | str = "names no file in the package"
        else:
            found = media_file(files[target])
            if isinstance(found, MediaFile) and player(found.path) is None:
                found = f"an image, not {kind}"
        if isinstance(found, str):
            kept.add(src)
            warn(element, f"the {kind} file {src!r} is not kept: {found}")
            continue
        media.append((found, files[target]))
        text = " ".join("".join(element.itertext()).split())
        alt = text or (element.get("title") or "").strip() or posixpath.basename(target)
        shown = etree.Element(
            etree.QName("img")
            if not namespace(element)
            else etree.QName(namespace(element), "img"),
            {"src": found.path, "alt": alt.replace("]", ")")[:200]},
        )
        shown.tail = element.tail
        parent = element.getparent()
        if parent is None:
            continue
        parent.replace(element, shown)
        kept.add(found.path)
        what = "captions" if player(found.path) == "video" else "transcript"
        warn(
            element,
            f"the {kind} {src!r} is kept as bank media, played with native controls; no {what} "
            "is kept with it, so learners who cannot hear it need one in the item text",
        )
    return frozenset(kept)
