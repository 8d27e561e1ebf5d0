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
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$",
        description="Letters, digits and _ . : - ; starts with a letter, digit or _ "
        "(QTI identifiers are XML NCNames, which may start with _); at most 64.",
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


# --------------------------------------------------------------------------- response times


class TimeParameterErrors(_Struct, frozen=True):
    """Standard errors of estimated response-time parameters (as written by calibration)."""

    alpha: StandardError | None = None
    beta: StandardError | None = None


class TimeParameters(_Struct, frozen=True):
    r"""An item's parameters in van der Linden's (2006) lognormal response-time model.

    .. math:: \ln T_{ij} \sim N\!\left(\beta_j - \tau_i,\; 1/\alpha_j^2\right)

    ``beta`` is the item's time intensity: the mean log-seconds of a learner of average speed
    (:math:`\tau = 0`), so :math:`e^\beta` is that learner's median time in seconds.
    ``alpha`` is the time discrimination: the reciprocal of the SD of log-times about it.
    Written by ``skillgauge calibrate-times``; used by the engine's rapid-guess threshold and
    response-time person fit.

    References
    ----------
    van der Linden, W. J. (2006). A lognormal model for response times on test items.
    *Journal of Educational and Behavioral Statistics*, 31(2), 181-204.
    """

    alpha: Annotated[float, Meta(gt=0.0, le=50.0, description="1 / SD of log-seconds.")]
    beta: Annotated[float, Meta(ge=-5.0, le=12.0, description="Mean log-seconds at average speed.")]
    se: TimeParameterErrors | None = None


# --------------------------------------------------------------------------- interactions


#: Fraction of full credit a response part earns under ``scoring: weighted``; negative values
#: penalise (GIFT ``~%-50%``, Moodle negative fractions, QTI negative mapped values).
Credit = Annotated[float, Meta(ge=-1.0, le=1.0)]


class Option(_Struct, frozen=True):
    """One option of a choice interaction, with the reason it is right or wrong.

    ``credit`` is only used by ``scoring: weighted`` interactions: the fraction of full credit
    choosing this option earns (absent means 0).
    """

    id: Identifier
    text: RequiredMarkdown
    rationale: Markdown = ""
    misconception: Identifier | None = None
    credit: Credit | None = None


ChoiceOptions = Annotated[tuple[Option, ...], Meta(min_length=2, max_length=26)]


class SingleChoice(_Struct, tag_field="type", tag="single_choice", frozen=True):
    """Pick exactly one option; ``key`` is the id of the correct one.

    ``scoring = "weighted"`` gives the chosen option's ``credit`` (the key's credit is 1), so
    an option can earn partial credit; see :func:`item_banks.scoring.credit_category`.
    """

    options: ChoiceOptions
    key: Identifier
    shuffle: bool = True
    scoring: Literal["all_or_nothing", "weighted"] = "all_or_nothing"


class MultipleResponse(_Struct, tag_field="type", tag="multiple_response", frozen=True):
    """Pick every correct option.

    ``scoring = "all_or_nothing"`` gives category 1 only for exactly the key set.
    ``scoring = "partial"`` gives category ``max(0, correct picks - wrong picks)``, which
    needs a polytomous model with one threshold per key option.
    ``scoring = "weighted"`` sums the ``credit`` of the picked options, clipped to [0, 1]
    (GIFT and Moodle percentages, QTI ``map_response``); the key's credits reach 1.
    """

    options: ChoiceOptions
    key: Annotated[tuple[Identifier, ...], Meta(min_length=1, max_length=26)]
    scoring: Literal["all_or_nothing", "partial", "weighted"] = "all_or_nothing"
    shuffle: bool = True


#: The least credit that earns a category (see ``Item.credit_levels``).
CreditLevel = Annotated[float, Meta(gt=0.0, le=1.0)]

#: The credit of an accepted alternative answer: more than nothing, at most full credit.
AlternativeCredit = Annotated[float, Meta(gt=0.0, le=1.0)]


class NumericRange(_Struct, frozen=True):
    """An interval of accepted numbers from ``low`` to ``high`` and the credit it earns.

    Both ends are included (``[low, high]``) unless ``include_low`` or ``include_high`` is
    false: QTI's ``include-lower-bound="false"`` makes ``(low, high]``.
    """

    low: float
    high: float
    credit: AlternativeCredit = 1.0
    include_low: bool = True
    include_high: bool = True


#: Values that code can print but that are not finite numbers (``print(float("nan"))``).
SpecialValue = Literal["nan", "inf", "-inf"]


class CommonWrongAnswer(_Struct, frozen=True):
    """A wrong number learners often give, with the explanation of the mistake behind it.

    Give either ``value`` (matched with the item's own tolerance, absolute or relative; or
    one of ``"nan"``, ``"inf"``, ``"-inf"`` for answers code can print) or the closed range
    ``low``..``high``. Feedback matches these before its generic messages, in the order
    written.
    """

    explanation: RequiredMarkdown
    value: float | SpecialValue | None = None
    low: float | None = None
    high: float | None = None
    misconception: Identifier | None = None


class Numeric(_Struct, tag_field="type", tag="numeric", frozen=True):
    """A number, right when ``|answer - key| <= tolerance`` (absolute or relative to key).

    ``alternatives`` accept further intervals (GIFT ranges, Moodle's extra answers, QTI
    asymmetric tolerances); an answer earns the highest credit of any interval holding it.
    ``common_wrong_answers`` explain typical wrong numbers (they never change the score).
    """

    key: float
    tolerance: Annotated[float, Meta(ge=0.0)] = 0.0
    tolerance_mode: Literal["absolute", "relative"] = "absolute"
    unit: Annotated[str, Meta(max_length=40)] | None = None
    alternatives: Annotated[tuple[NumericRange, ...], Meta(max_length=20)] = ()
    common_wrong_answers: Annotated[tuple[CommonWrongAnswer, ...], Meta(max_length=20)] = ()


AnswerText = Annotated[str, Meta(min_length=1, max_length=500)]


class TextAnswer(_Struct, frozen=True):
    """An accepted short answer that earns partial ``credit``.

    ``case_sensitive`` overrides the item's setting for this answer (QTI mappings set it per
    entry: ``Paris`` exactly for full credit, any other case of ``paris`` for half).
    """

    text: AnswerText
    credit: Annotated[float, Meta(gt=0.0, lt=1.0)]
    case_sensitive: bool | None = None


class WrongText(_Struct, frozen=True):
    """A wrong short answer learners often give, with the explanation of the mistake."""

    text: AnswerText
    explanation: RequiredMarkdown
    misconception: Identifier | None = None


class ShortText(_Struct, tag_field="type", tag="short_text", frozen=True):
    """A short typed answer matched, after normalisation, against the accepted ``key`` list.

    ``alternatives`` are answers worth partial credit (GIFT ``=%50%``, QTI ``map_response``).
    ``wrong_answers`` explain typical wrong answers (matched after the same normalisation;
    they never change the score).
    """

    key: Annotated[tuple[AnswerText, ...], Meta(min_length=1, max_length=50)]
    case_sensitive: bool = False
    alternatives: Annotated[tuple[TextAnswer, ...], Meta(max_length=50)] = ()
    wrong_answers: Annotated[tuple[WrongText, ...], Meta(max_length=50)] = ()


class Order(_Struct, tag_field="type", tag="order", frozen=True):
    """Put every option in order; ``key`` lists all option ids in the correct order.

    The raw answer is the list of option ids in the learner's order; only the exact order
    earns credit.
    """

    options: ChoiceOptions
    key: Annotated[tuple[Identifier, ...], Meta(min_length=2, max_length=26)]
    shuffle: bool = True


class MatchPair(_Struct, frozen=True):
    """One association of a ``sources`` option with a ``targets`` option."""

    source: Identifier
    target: Identifier


class PairCredit(_Struct, frozen=True):
    """The credit one association earns under ``scoring: weighted``."""

    source: Identifier
    target: Identifier
    credit: Credit


class Match(_Struct, tag_field="type", tag="match", frozen=True):
    """Associate sources with targets; ``key`` is the set of correct pairs.

    The raw answer is a list of ``"SOURCE TARGET"`` strings (QTI's directed-pair notation).
    ``all_or_nothing`` credits exactly the key set; ``weighted`` sums the ``credits`` of the
    pairs given (pairs not listed earn 0), clipped to [0, 1].
    """

    sources: ChoiceOptions
    targets: ChoiceOptions
    key: Annotated[tuple[MatchPair, ...], Meta(min_length=1, max_length=100)]
    scoring: Literal["all_or_nothing", "weighted"] = "all_or_nothing"
    credits: Annotated[tuple[PairCredit, ...], Meta(max_length=676)] = ()
    shuffle: bool = True


class ExtendedText(_Struct, tag_field="type", tag="extended_text", frozen=True):
    """An essay answer: stored for a person to score, **never auto-scored**.

    The engine leaves such items out of the pool it selects from
    (:func:`engine.pool.compile_pool`), so they are never administered adaptively.
    """

    expected_lines: Annotated[int, Meta(ge=1, le=1000)] | None = None
    expected_length: Annotated[int, Meta(ge=1, le=100_000)] | None = None


class InlineChoice(SingleChoice, tag="inline_choice", frozen=True):
    """A choice shown inside a sentence or code line (QTI inline choice): a native select.

    Scored like :class:`SingleChoice`; only used as a field of a :class:`Composite` item.
    """


class GapMatch(Match, tag="gap_match", frozen=True, kw_only=True):
    """Fill the gaps of ``text`` with the gap texts (QTI gap match).

    ``sources`` are the gap texts, ``targets`` the gaps; ``text`` is Markdown in which
    ``{{GAP_ID}}`` marks where each gap (a target id) stands. The raw answer is a list of
    ``"GAPTEXT GAP"`` pairs, scored like :class:`Match`.
    """

    text: RequiredMarkdown


class HotText(MultipleResponse, tag="hot_text", frozen=True, kw_only=True):
    """Select words or phrases of ``text`` (QTI hot text).

    ``options`` are the selectable phrases; ``text`` is Markdown in which ``{{OPTION_ID}}``
    marks where each one stands. ``max_choices`` (0: any number) limits how many may be
    selected. Scored like :class:`MultipleResponse`.
    """

    text: RequiredMarkdown
    max_choices: Annotated[int, Meta(ge=0, le=26)] = 0


class Associate(_Struct, tag_field="type", tag="associate", frozen=True):
    """Pair options of one set with each other (QTI associate); pairs are unordered.

    The raw answer is a list of ``"A B"`` strings (``"A B"`` and ``"B A"`` are the same
    pair). ``all_or_nothing`` credits exactly the key set; ``weighted`` sums the ``credits``
    of the pairs given, clipped to [0, 1]. ``max_associations`` (0: as many as the key)
    is how many pairs the learner may give.
    """

    options: ChoiceOptions
    key: Annotated[tuple[MatchPair, ...], Meta(min_length=1, max_length=100)]
    scoring: Literal["all_or_nothing", "weighted"] = "all_or_nothing"
    credits: Annotated[tuple[PairCredit, ...], Meta(max_length=676)] = ()
    max_associations: Annotated[int, Meta(ge=0, le=100)] = 0
    shuffle: bool = True


#: The shapes of a hotspot's area (QTI ``shape``), in image pixels: ``rect`` is left, top,
#: right, bottom; ``circle`` centre x, y and radius; ``ellipse`` centre x, y and the two
#: radii; ``poly`` the x, y of each corner (three at least).
HotspotShape = Literal["rect", "circle", "ellipse", "poly"]


class HotspotArea(_Struct, frozen=True):
    """Where one option of a :class:`Hotspot` lies on its image (QTI ``qti-hotspot-choice``)."""

    id: Identifier
    shape: HotspotShape
    coords: Annotated[tuple[Annotated[float, Meta(ge=0.0, le=10_000.0)], ...], Meta(max_length=200)]


#: An image as Markdown, ``![alt text](media/....png)``: a bank media file (or a ``data:``
#: image); the alt text is required (checked by :mod:`item_banks.validation`, since learner
#: pages show an image the bank lacks as ``[image: alt text]``).
ImageMarkdown = Annotated[str, Meta(min_length=1, max_length=200_000)]


class Hotspot(MultipleResponse, tag="hotspot", frozen=True, kw_only=True):
    """Select areas of an image (QTI hotspot).

    ``image`` is the picture as Markdown (``![alt text](media/....png)``, a bank media file),
    ``width`` and ``height`` its size in pixels (the areas' coordinates are in them).
    ``options`` are the areas' labels (QTI ``hotspot-label``, else the choice's identifier):
    learners pick among them by number and label, without a pointer. ``areas`` place each
    option on the image (one per option, same ids). ``max_choices`` (0: any number) limits
    how many may be selected; 1 makes a single choice. Scored like :class:`MultipleResponse`.
    """

    image: ImageMarkdown
    width: Annotated[int, Meta(ge=1, le=10_000)]
    height: Annotated[int, Meta(ge=1, le=10_000)]
    areas: Annotated[tuple[HotspotArea, ...], Meta(min_length=2, max_length=26)]
    max_choices: Annotated[int, Meta(ge=0, le=26)] = 0


class GraphicGapMatch(Match, tag="graphic_gap_match", frozen=True, kw_only=True):
    """Place labels on areas of an image (QTI graphic gap match).

    ``sources`` are the labels to place (QTI gap texts; a gap image is kept as its alt
    text), ``targets`` the image's areas (their text is the area's label, QTI
    ``hotspot-label``, else its identifier), placed on ``image`` by ``areas`` (one per
    target, same ids) as for :class:`Hotspot`. The raw answer is a list of
    ``"SOURCE AREA"`` pairs, scored like :class:`Match`.
    """

    image: ImageMarkdown
    width: Annotated[int, Meta(ge=1, le=10_000)]
    height: Annotated[int, Meta(ge=1, le=10_000)]
    areas: Annotated[tuple[HotspotArea, ...], Meta(min_length=1, max_length=26)]


#: What one field of a composite item can be.
FieldInteraction = (
    SingleChoice
    | MultipleResponse
    | Numeric
    | ShortText
    | Order
    | Match
    | InlineChoice
    | GapMatch
    | HotText
    | Associate
    | Hotspot
    | GraphicGapMatch
)

#: Field interactions written inside a sentence (``{{FIELD_ID}}`` in the stem is the field).
INLINE_FIELDS = (Numeric, ShortText, InlineChoice)

#: Points a field is worth within its item.
FieldWeight = Annotated[float, Meta(gt=0.0, le=100.0)]


class Field(_Struct, frozen=True):
    """One response field of a :class:`Composite` item: a blank, an inline choice, a block.

    ``id`` names the field (QTI ``response-identifier``, an NCName). ``{{ID}}`` in the
    item's stem marks where the field stands (inline fields inside a sentence or a code
    line; block fields on a paragraph of their own); a field the stem does not mark comes
    after the stem. ``label`` is what screen readers announce (default: the field's
    position, "Blank 2 of 3"). ``prompt`` introduces a block field. ``weight`` is the
    field's points in the item score. ``rationale`` explains the field's right answer and
    ``misconception`` names the misunderstanding a wrong answer to it shows, for feedback.
    """

    id: Identifier
    interaction: FieldInteraction
    label: Name | None = None
    prompt: Markdown = ""
    weight: FieldWeight = 1.0
    rationale: Markdown = ""
    misconception: Identifier | None = None


class Composite(_Struct, tag_field="type", tag="composite", frozen=True):
    """Several response fields answered together, scored as one item (cloze, QTI composite).

    The item's credit is the weighted mean of its fields' credits (each field scored as its
    own interaction): ``s = sum(w_f s_f) / sum(w_f)``, so a cloze of three equal blanks earns
    0, 1/3, 2/3 or 1, categories 0-3 of a GPCM or GRM item (or right/wrong with a
    dichotomous model: only all blanks right earns 1). The raw answer is a list of
    ``"FIELD_ID=VALUE"`` strings; multi-valued fields (multiple response, order, match...)
    repeat their id once per value, in order.
    """

    fields: Annotated[tuple[Field, ...], Meta(min_length=1, max_length=50)]


Interaction = (
    SingleChoice | MultipleResponse | Numeric | ShortText | Order | Match | ExtendedText | Composite
)
#: Interactions whose answers a person scores; the engine never selects them.
NOT_AUTO_SCORED = (ExtendedText,)


def interaction_type(interaction: Interaction) -> str:
    """Return the interaction's tag (``"single_choice"``...)."""
    return str(type(interaction).__struct_config__.tag)


def auto_scored(item: Item) -> bool:
    """Return whether :func:`item_banks.scoring.score_answer` can score ``item``'s answers."""
    return not isinstance(item.interaction, NOT_AUTO_SCORED)


# --------------------------------------------------------------------------- bank


#: A web address shown to learners as a link (never fetched by Skillgauge).
Url = Annotated[
    str,
    Meta(
        max_length=2000,
        pattern=r"^https?://[^\s<>\"]+$",
        description="An http or https address, shown as a link; never fetched.",
    ),
]


class Resource(_Struct, frozen=True):
    """Something to study: a ``title`` with a ``url`` (shown as a link) or a ``reference``.

    ``reference`` is Markdown for what has no address (a book chapter, a course unit).
    """

    title: Name
    url: Url | None = None
    reference: Markdown = ""


#: A theta boundary of a level (the competency's scale, logistic metric).
ThetaBoundary = Annotated[float, Meta(ge=-6.0, le=6.0)]


class Level(_Struct, frozen=True):
    """A named band of a competency's scale, described for learners.

    A competency's ``levels`` are listed from lowest to highest; each level but the first
    starts at ``min_theta`` (strictly increasing), and the first has none (it starts at
    minus infinity). A learner is at the highest level whose ``min_theta`` is at or below
    their estimate.
    """

    label: Name
    descriptor: RequiredMarkdown
    min_theta: ThetaBoundary | None = None


class Competency(_Struct, frozen=True):
    """A skill measured on its own ability scale; ``cut_score`` is on that theta scale.

    ``levels`` describe bands of the scale for learners' reports; ``resources`` are what to
    study when the competency is a gap.
    """

    id: Identifier
    name: Name
    description: Markdown = ""
    cut_score: Annotated[float, Meta(ge=-6.0, le=6.0)] | None = None
    levels: Annotated[tuple[Level, ...], Meta(max_length=10)] = ()
    resources: Annotated[tuple[Resource, ...], Meta(max_length=20)] = ()


class ContentArea(_Struct, frozen=True):
    """A content-area tag that items can carry (used for content balancing)."""

    id: Identifier
    name: Name


class Misconception(_Struct, frozen=True):
    """A named, explained misunderstanding that distractors and wrong answers can point to.

    ``resources`` are what to study when a learner shows it.
    """

    id: Identifier
    name: Name
    explanation: RequiredMarkdown
    resources: Annotated[tuple[Resource, ...], Meta(max_length=20)] = ()


class Item(_Struct, frozen=True):
    """One assessment item.

    ``exposure`` is the Sympson-Hetter exposure-control parameter ``K_i`` (probability of
    administering the item once selected); absent means 1. ``time`` holds the item's
    response-time parameters (:class:`TimeParameters`), when calibrated.

    ``title`` is the author's short name for the item (QTI ``title``, Moodle question name),
    shown to authors only. ``correct_feedback`` and ``incorrect_feedback`` are shown to the
    learner after a fully correct answer, or after any other answer that no authored wrong
    answer (``wrong_answers``, ``common_wrong_answers``) explains (QTI feedback that the
    item's rules show for the correct answers only, or for every other answer). ``notes`` are
    notes for authors and scorers (QTI rubric blocks: scoring rubrics, author notes), never
    sent to learners.

    ``credit_levels`` (polytomous items only) are the least credit of each category
    1..K, strictly increasing and ending at 1: one category per distinct credit an answer
    can earn, however spaced (QTI items worth 0, 0.25 and 1 have levels ``(0.25, 1)``).
    Absent, categories are equal steps of ``1/K`` (see
    :func:`item_banks.scoring.credit_category`).
    """

    id: Identifier
    competency: Identifier
    stem: RequiredMarkdown
    interaction: Interaction
    irt: IrtParameters
    title: Name | None = None
    content_areas: Annotated[tuple[Identifier, ...], Meta(max_length=20)] = ()
    solution: Markdown = ""
    hints: Annotated[tuple[RequiredMarkdown, ...], Meta(max_length=10)] = ()
    status: Literal["operational", "pretest"] = "operational"
    exposure: Annotated[float, Meta(gt=0.0, le=1.0)] | None = None
    time: TimeParameters | None = None
    credit_levels: Annotated[tuple[CreditLevel, ...], Meta(max_length=20)] = ()
    notes: Markdown = ""
    correct_feedback: Markdown = ""
    incorrect_feedback: Markdown = ""


#: A correlation between two competencies' abilities.
Correlation = Annotated[float, Meta(ge=-1.0, le=1.0)]


class LatentCorrelations(_Struct, frozen=True):
    r"""The correlation matrix of the competencies' abilities (a correlated bank).

    A calibration of the between-item multidimensional model (each item measures its own
    competency; the abilities are multivariate normal with unit variances) estimates it;
    the engine then uses :math:`N(0, R)` as the prior of a correlated session. ``matrix``
    is square, labelled row by row and column by column by ``competencies`` (every
    competency of the bank, once); it must be symmetric, have a unit diagonal and be
    positive definite (checked by :func:`item_banks.validation.check_bank`). ``se`` holds
    the standard errors of the off-diagonal entries (0 on the diagonal) when estimated.
    """

    competencies: Annotated[tuple[Identifier, ...], Meta(min_length=1, max_length=200)]
    matrix: Annotated[tuple[tuple[Correlation, ...], ...], Meta(min_length=1, max_length=200)]
    se: tuple[tuple[StandardError, ...], ...] | None = None


#: The most bytes one image of a bank may hold.
MAX_MEDIA_BYTES = 2_000_000
#: The most bytes one audio or video file of a bank may hold.
MAX_AUDIO_VIDEO_BYTES = 20_000_000
#: The most media files a bank may list.
MAX_MEDIA_FILES = 1000

#: The media types a bank keeps (checked by their first bytes; SVG is refused: it can hold
#: script).
MediaType = Literal[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/wav",
    "video/mp4",
    "video/webm",
]

#: A media file's path: ``media/`` + 16 hex digits of its SHA-256 + its type's extension.
_MEDIA_PATH = r"^media/[0-9a-f]{16}\.(png|jpg|gif|webp|mp3|ogg|m4a|wav|mp4|webm)$"


class MediaFile(_Struct, frozen=True):
    """A media file a bank's texts show as ``![alt text](path)``, stored with the bank version.

    Images are at most :data:`MAX_MEDIA_BYTES`; audio (``.mp3``, ``.ogg``, ``.m4a``,
    ``.wav``) and video (``.mp4``, ``.webm``) at most :data:`MAX_AUDIO_VIDEO_BYTES`, shown to
    learners with native player controls (the path's extension says which).

    The bank holds the file's description; its bytes are kept beside the version (the web
    service's media table, a QTI package's files), found by ``sha256``. ``path`` is
    ``media/<first 16 hex digits of sha256>.<ext>``, so equal files share one name.
    """

    path: Annotated[str, Meta(pattern=_MEDIA_PATH)]
    content_type: MediaType
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Meta(ge=1, le=MAX_AUDIO_VIDEO_BYTES)]


class Bank(_Struct, frozen=True):
    """An item bank: competencies, misconceptions, content areas and items.

    ``version`` is the author's label; storage identifies a bank version by its content hash
    (:func:`item_banks.native.content_hash`). ``correlations`` (optional) is the latent
    correlation matrix of the competencies; banks without it are scored competency by
    competency.
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
    correlations: LatentCorrelations | None = None
    media: Annotated[tuple[MediaFile, ...], Meta(max_length=MAX_MEDIA_FILES)] = ()
