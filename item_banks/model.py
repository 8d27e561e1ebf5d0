"""What an item bank is: immutable msgspec Structs for banks, competencies and items.

IRT parameters are in the **logistic metric with D = 1** (no 1.702 scaling constant):

* 1PL-4PL, one kernel: ``P(u=1 | theta) = c + (d - c) / (1 + exp(-a (theta - b)))`` with
  discrimination ``a > 0``, difficulty ``b``, lower asymptote ``0 <= c < d`` and upper
  asymptote ``c < d <= 1``. ``1pl`` fixes ``a`` (1 for the Rasch model), ``2pl`` has
  ``c = 0, d = 1``, ``3pl`` has ``d = 1``.
* Graded response (Samejima, 1969), ``grm``: ``a`` and strictly increasing ``thresholds``
  ``b_1 < ... < b_K``; ``P(X >= k) = 1 / (1 + exp(-a (theta - b_k)))``; categories 0..K.
* Generalised partial credit (Muraki, 1992), ``gpcm``: ``a`` and step difficulties
  ``b_1 .. b_K`` (not necessarily ordered); ``P(X = k) ∝ exp(sum_{v <= k} a (theta - b_v))``.

R mirt writes the same models in slope-intercept form (``a1``, ``d = -a b``); the conversions
are in :mod:`item_banks.parameterization`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

#: Identifiers of banks, competencies, items, options, misconceptions and content areas.
Identifier = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="Letters, digits and _ . : - ; starts with a letter or digit; at most 64.",
    ),
]
#: A short, single-line human name.
Name = Annotated[str, Meta(min_length=1, max_length=200)]
#: Markdown text (stems, rationales, solutions); may contain fenced code and $math$.
Markdown = Annotated[str, Meta(max_length=20_000)]
#: Non-empty Markdown text.
RequiredMarkdown = Annotated[str, Meta(min_length=1, max_length=20_000)]

Discrimination = Annotated[float, Meta(gt=0.0, le=10.0, description="Slope a > 0 (D = 1).")]
Location = Annotated[float, Meta(ge=-10.0, le=10.0, description="Difficulty on the theta scale.")]
Asymptote = Annotated[float, Meta(ge=0.0, le=1.0)]
StandardError = Annotated[float, Meta(ge=0.0)]


class _Struct(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Common configuration: immutable, keyword-only, unknown fields refused, defaults omitted."""


# --------------------------------------------------------------------------- IRT parameters


class ParameterErrors(_Struct, frozen=True):
    """Standard errors of estimated parameters (as written by calibration)."""

    a: StandardError | None = None
    b: StandardError | None = None
    c: StandardError | None = None
    d: StandardError | None = None
    thresholds: tuple[StandardError, ...] | None = None


class OnePL(_Struct, tag_field="model", tag="1pl", frozen=True):
    """One-parameter logistic (Rasch when ``a = 1``): only ``b`` varies between items."""

    b: Location
    a: Discrimination = 1.0
    se: ParameterErrors | None = None


class TwoPL(_Struct, tag_field="model", tag="2pl", frozen=True):
    """Two-parameter logistic: ``P = 1 / (1 + exp(-a (theta - b)))``."""

    a: Discrimination
    b: Location
    se: ParameterErrors | None = None


class ThreePL(_Struct, tag_field="model", tag="3pl", frozen=True):
    """Three-parameter logistic with lower asymptote (pseudo-guessing) ``c``."""

    a: Discrimination
    b: Location
    c: Annotated[float, Meta(ge=0.0, lt=1.0)]
    se: ParameterErrors | None = None


class FourPL(_Struct, tag_field="model", tag="4pl", frozen=True):
    """Four-parameter logistic with lower asymptote ``c`` and upper asymptote ``d``."""

    a: Discrimination
    b: Location
    c: Annotated[float, Meta(ge=0.0, lt=1.0)]
    d: Annotated[float, Meta(gt=0.0, le=1.0)]
    se: ParameterErrors | None = None


class Graded(_Struct, tag_field="model", tag="grm", frozen=True):
    """Samejima's graded response model; ``thresholds`` strictly increasing, K >= 1."""

    a: Discrimination
    thresholds: Annotated[tuple[Location, ...], Meta(min_length=1, max_length=20)]
    se: ParameterErrors | None = None


class PartialCredit(_Struct, tag_field="model", tag="gpcm", frozen=True):
    """Muraki's generalised partial credit model; step difficulties ``thresholds``, K >= 1."""

    a: Discrimination
    thresholds: Annotated[tuple[Location, ...], Meta(min_length=1, max_length=20)]
    se: ParameterErrors | None = None


IrtParameters = OnePL | TwoPL | ThreePL | FourPL | Graded | PartialCredit
DICHOTOMOUS_MODELS = ("1pl", "2pl", "3pl", "4pl")
POLYTOMOUS_MODELS = ("grm", "gpcm")


def model_name(params: IrtParameters) -> str:
    """Return the model tag of ``params`` (``"2pl"``, ``"grm"``...)."""
    return str(type(params).__struct_config__.tag)


def category_count(params: IrtParameters) -> int:
    """Number of score categories the model defines: 2 for 1PL-4PL, K + 1 for GRM/GPCM."""
    if isinstance(params, Graded | PartialCredit):
        return len(params.thresholds) + 1
    return 2


# --------------------------------------------------------------------------- interactions


class Option(_Struct, frozen=True):
    """One option of a choice interaction, with the reason it is right or wrong."""

    id: Identifier
    text: RequiredMarkdown
    rationale: Markdown = ""
    misconception: Identifier | None = None


ChoiceOptions = Annotated[tuple[Option, ...], Meta(min_length=2, max_length=26)]


class SingleChoice(_Struct, tag_field="type", tag="single_choice", frozen=True):
    """Pick exactly one option; ``key`` is the id of the correct one."""

    options: ChoiceOptions
    key: Identifier
    shuffle: bool = True


class MultipleResponse(_Struct, tag_field="type", tag="multiple_response", frozen=True):
    """Pick every correct option.

    ``scoring = "all_or_nothing"`` gives category 1 only for exactly the key set.
    ``scoring = "partial"`` gives category ``max(0, correct picks - wrong picks)``, which
    needs a polytomous model with one threshold per key option.
    """

    options: ChoiceOptions
    key: Annotated[tuple[Identifier, ...], Meta(min_length=1, max_length=26)]
    scoring: Literal["all_or_nothing", "partial"] = "all_or_nothing"
    shuffle: bool = True


class Numeric(_Struct, tag_field="type", tag="numeric", frozen=True):
    """A number, right when ``|answer - key| <= tolerance`` (absolute or relative to key)."""

    key: float
    tolerance: Annotated[float, Meta(ge=0.0)] = 0.0
    tolerance_mode: Literal["absolute", "relative"] = "absolute"
    unit: Annotated[str, Meta(max_length=40)] | None = None


class ShortText(_Struct, tag_field="type", tag="short_text", frozen=True):
    """A short typed answer matched, after normalisation, against the accepted ``key`` list."""

    key: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=500)], ...],
        Meta(min_length=1, max_length=50),
    ]
    case_sensitive: bool = False


Interaction = SingleChoice | MultipleResponse | Numeric | ShortText


def interaction_type(interaction: Interaction) -> str:
    """Return the interaction's tag (``"single_choice"``...)."""
    return str(type(interaction).__struct_config__.tag)


# --------------------------------------------------------------------------- bank


class Competency(_Struct, frozen=True):
    """A skill measured on its own ability scale; ``cut_score`` is on that theta scale."""

    id: Identifier
    name: Name
    description: Markdown = ""
    cut_score: Annotated[float, Meta(ge=-6.0, le=6.0)] | None = None


class ContentArea(_Struct, frozen=True):
    """A content-area tag that items can carry (used for content balancing)."""

    id: Identifier
    name: Name


class Misconception(_Struct, frozen=True):
    """A named, explained misunderstanding that distractors can point to."""

    id: Identifier
    name: Name
    explanation: RequiredMarkdown


class Item(_Struct, frozen=True):
    """One assessment item.

    ``exposure`` is the Sympson-Hetter exposure-control parameter ``K_i`` (probability of
    administering the item once selected); absent means 1.
    """

    id: Identifier
    competency: Identifier
    stem: RequiredMarkdown
    interaction: Interaction
    irt: IrtParameters
    content_areas: Annotated[tuple[Identifier, ...], Meta(max_length=20)] = ()
    solution: Markdown = ""
    hints: Annotated[tuple[RequiredMarkdown, ...], Meta(max_length=10)] = ()
    status: Literal["operational", "pretest"] = "operational"
    exposure: Annotated[float, Meta(gt=0.0, le=1.0)] | None = None


class Bank(_Struct, frozen=True):
    """An item bank: competencies, misconceptions, content areas and items.

    ``version`` is the author's label; storage identifies a bank version by its content hash
    (:func:`item_banks.native.content_hash`).
    """

    id: Identifier
    title: Name
    version: Annotated[str, Meta(min_length=1, max_length=40)]
    competencies: Annotated[tuple[Competency, ...], Meta(max_length=200)]
    items: Annotated[tuple[Item, ...], Meta(max_length=100_000)]
    description: Markdown = ""
    notes: Markdown = ""
    misconceptions: tuple[Misconception, ...] = ()
    content_areas: tuple[ContentArea, ...] = ()
