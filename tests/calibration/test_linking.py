"""Scale linking: exact recovery of a known transformation, and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.errors import LinkingError
from calibration.linking import LINK_METHODS, LinkMethod, link, transform
from engine.synthetic import synthetic_bank
from item_banks.model import Graded, IrtParameters, ParameterErrors, ThreePL, TwoPL


@pytest.mark.parametrize("model", ["2pl", "3pl", "4pl", "grm", "gpcm"])
@pytest.mark.parametrize("method", LINK_METHODS)
@settings(max_examples=5, deadline=None)
@given(
    slope=st.floats(min_value=0.5, max_value=2.0),
    shift=st.floats(min_value=-1.5, max_value=1.5),
)
def test_a_known_transformation_is_recovered_exactly(
    model: str, method: LinkMethod, slope: float, shift: float
) -> None:
    bank = synthetic_bank(15, model, 1, seed=3)  # type: ignore[arg-type]
    new = {item.id: item.irt for item in bank.items}
    old = {k: transform(v, slope, shift) for k, v in new.items()}
    constants = link(new, old, method)
    assert constants.a == pytest.approx(slope, abs=1e-5)
    assert constants.b == pytest.approx(shift, abs=1e-5)
    assert constants.common_items == tuple(new)


def test_transform_moves_parameters_and_standard_errors() -> None:
    moved = transform(
        ThreePL(a=1.2, b=0.5, c=0.2, se=ParameterErrors(a=0.1, b=0.2, c=0.03)), 2.0, -1.0
    )
    assert isinstance(moved, ThreePL)
    assert (moved.a, moved.b, moved.c) == (0.6, 0.0, 0.2)
    assert moved.se == ParameterErrors(a=0.05, b=0.4, c=0.03)
    graded = transform(Graded(a=1.0, thresholds=(-1.0, 1.0)), 0.5, 1.0)
    assert isinstance(graded, Graded)
    assert graded.thresholds == (0.5, 1.5)
    back = transform(transform(TwoPL(a=1.3, b=-0.2), 1.7, 0.4), 1 / 1.7, -0.4 / 1.7)
    assert isinstance(back, TwoPL)
    assert back.a == pytest.approx(1.3) and back.b == pytest.approx(-0.2)


def test_linking_needs_two_common_items_of_one_family() -> None:
    one: dict[str, IrtParameters] = {"a": TwoPL(a=1.0, b=0.0)}
    with pytest.raises(LinkingError, match="at least 2 common items"):
        link(one, {"a": TwoPL(a=1.0, b=0.1), "b": TwoPL(a=1.0, b=0.2)})
    new: dict[str, IrtParameters] = {"a": TwoPL(a=1.0, b=0.0), "b": TwoPL(a=1.0, b=1.0)}
    old: dict[str, IrtParameters] = {
        "a": TwoPL(a=1.0, b=0.0),
        "b": Graded(a=1.0, thresholds=(0.0, 1.0)),
    }
    with pytest.raises(LinkingError, match='"b" \\(2pl vs grm\\)'):
        link(new, old)
    flat: dict[str, IrtParameters] = {"a": TwoPL(a=1.0, b=0.3), "b": TwoPL(a=1.2, b=0.3)}
    with pytest.raises(LinkingError, match="do not vary"):
        link(flat, flat, "mean-sigma")
