"""A JSON-LD document loader that serves only bundled contexts, and RDFC-1.0 canonicalization.

Signing and verifying must never touch the network: a remote context could change the meaning
of a signed document, leak who verifies what, or simply be down. The loader therefore serves
a closed set of contexts shipped with the code and refuses every other URL:

- ``https://www.w3.org/ns/credentials/v2``, shipped by pyld
  (``pyld.documentloader.frozen.BUNDLED_CONTEXTS``);
- ``https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json``, the Open Badges 3.0
  context, bundled as package data (``contexts/ob-v3p0-context-3.0.3.json``, verbatim from
  1EdTech);
- ``https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json``, the Comprehensive
  Learner Record 2.0 context (``contexts/clr-v2p0-context-2.0.1.json``, verbatim from
  1EdTech), for the learner's record (:mod:`web.credentials.clr`);
- ``https://www.w3.org/ns/credentials/examples/v2`` only when asked for (the W3C test vectors
  use it; credentials of this service never do).

Each loader has its own resolved-context cache: pyld's default cache is shared by the whole
process, so a context resolved once through a more permissive loader would otherwise be
served by this one without asking it.

Canonicalization is RDF Dataset Canonicalization (RDFC-1.0, which pyld names ``URDNA2015``)
with a "safe mode": a property that JSON-LD expansion would silently drop (and that a
signature would therefore not cover) is an error, as the Data Integrity specification asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.documentloader.frozen import BUNDLED_CONTEXTS, FrozenDocumentLoader

from web.credentials.errors import CanonicalizationError

CONTEXTS = Path(__file__).resolve().parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
CLR_V2P0 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"

SERVED: Mapping[str, Path] = {
    CREDENTIALS_V2: BUNDLED_CONTEXTS[CREDENTIALS_V2],
    OB_V3P0: CONTEXTS / "ob-v3p0-context-3.0.3.json",
    CLR_V2P0: CONTEXTS / "clr-v2p0-context-2.0.1.json",
}
EXAMPLES: Mapping[str, Path] = {EXAMPLES_V2: CONTEXTS / "credentials-examples-v2.json"}


class ClosedLoader:
    """Serves the given contexts and refuses every other URL (no network, ever)."""

    def __init__(self, documents: Mapping[str, Path]) -> None:
        self.urls = frozenset(documents)
        self._loader = FrozenDocumentLoader(documents=dict(documents))
        self._cache: LRUCache[Any, Any] = LRUCache(maxsize=64)

    def __call__(self, url: str, options: Mapping[str, Any]) -> Any:
        """Return the bundled document for ``url``; raise for any other URL."""
        return self._loader(url, dict(options))

    def options(self) -> dict[str, Any]:
        """Pyld processing options bound to this loader and its private cache."""
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._cache, self),
        }


_DEFAULT = ClosedLoader(SERVED)


def default_loader() -> ClosedLoader:
    """The loader for credentials of this service: VC 2.0, Open Badges 3.0 and CLR 2.0 only."""
    return _DEFAULT


def loader_with_examples() -> ClosedLoader:
    """The default contexts plus the W3C examples context (for the W3C test vectors)."""
    return ClosedLoader({**SERVED, **EXAMPLES})


def canonicalize(document: Mapping[str, Any], loader: ClosedLoader | None = None) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document.

    Raises
    ------
    CanonicalizationError
        A context outside the bundled set, a property JSON-LD would drop, or invalid JSON-LD.
    """
    loader = loader or _DEFAULT
    dropped: list[str | None] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=dropped.append)
    options = {
        **loader.options(),
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "base": "",
    }
    try:
        canonical = processor.normalize(dict(document), options)
    except jsonld.JsonLdError as exc:
        raise CanonicalizationError(_describe(exc)) from None
    if dropped:
        names = ", ".join(sorted({str(d) for d in dropped}))
        raise CanonicalizationError(
            f"properties not defined by the document's contexts would go unsigned: {names}"
        )
    if not isinstance(canonical, str):  # pragma: no cover - pyld returns str for n-quads
        raise CanonicalizationError("canonicalization produced no N-Quads")
    return canonical


def _describe(exc: BaseException) -> str:
    """The innermost useful message of a pyld error chain (e.g. the refused context URL)."""
    messages = []
    current: BaseException | None = exc
    while current is not None:
        details = getattr(current, "details", None)
        if isinstance(details, dict) and "url" in details:
            return f"context {details['url']} is not one this service knows (no network lookups)"
        messages.append(str(current).split("\n")[0])
        current = current.__cause__ or current.__context__
    return messages[-1] if messages else "invalid JSON-LD"
