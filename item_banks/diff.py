"""What changed between two versions of a bank, for ``skillgauge bank diff``.

Items added, removed and changed, and IRT parameters old and new, side by side.
Parameters are compared in the bank's metric (logistic, D = 1). A GRM/GPCM threshold
``thresholds[k]`` is named ``b{k+1}`` as in the psychometric literature, a standard error
``se(a)``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from item_banks.model import Bank, Graded, IrtParameters, Item, PartialCredit, model_name


class ParameterChange(msgspec.Struct, frozen=True, kw_only=True):
    """One parameter of one item in both versions (``None`` where a version lacks it)."""

    item: str
    model: str
    parameter: str
    old: float | None
    new: float | None


class BankDiff(msgspec.Struct, frozen=True, kw_only=True):
    """The differences between two banks.

    Attributes
    ----------
    header
        ``(field, old, new)`` for the bank's id, title and version when they differ, and
        every latent correlation that differs (``correlation(c1, c2)``; ``none`` when a
        version has no correlation matrix).
    added, removed
        Item ids, in the order of the bank that has them.
    changed
        ``(item id, changed fields other than irt)`` for items whose content changed.
    parameters
        Every IRT parameter (and standard error) that differs, item by item.
    """

    header: list[tuple[str, str, str]]
    added: list[str]
    removed: list[str]
    changed: list[tuple[str, list[str]]]
    parameters: list[ParameterChange]

    @property
    def reparameterised(self) -> list[str]:
        """Ids of the items whose IRT parameters changed, in order."""
        return list(dict.fromkeys(change.item for change in self.parameters))


def fields(old: Any, new: Any, path: str = "") -> list[str]:
    """Paths of the leaves where two Structs differ: ``interaction.options[1].text``.

    Values compare with ``==``; a tuple whose length changed is one difference.
    """
    if isinstance(old, msgspec.Struct) and isinstance(new, msgspec.Struct):
        if type(old) is not type(new):
            return [path]
        out: list[str] = []
        for name in old.__struct_fields__:
            out += fields(
                getattr(old, name), getattr(new, name), f"{path}.{name}" if path else name
            )
        return out
    if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
        out = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            out += fields(a, b, f"{path}[{index}]")
        return out
    return [] if old == new else [path]


def parameters(irt: IrtParameters) -> dict[str, float]:
    """The model's parameters and standard errors by name (``a``, ``b1``, ``se(a)``...)."""
    out: dict[str, float] = {}
    for name in ("a", "b", "c", "d"):
        value = getattr(irt, name, None)
        if value is not None:
            out[name] = float(value)
    if isinstance(irt, Graded | PartialCredit):
        out |= {f"b{k + 1}": float(v) for k, v in enumerate(irt.thresholds)}
    se = irt.se
    if se is not None:
        for name in ("a", "b", "c", "d"):
            value = getattr(se, name)
            if value is not None:
                out[f"se({name})"] = float(value)
        for k, value in enumerate(se.thresholds or ()):
            out[f"se(b{k + 1})"] = float(value)
    return out


def _parameter_changes(old: Item, new: Item) -> list[ParameterChange]:
    before, after = parameters(old.irt), parameters(new.irt)
    model = model_name(old.irt)
    if model_name(new.irt) != model:
        model = f"{model}>{model_name(new.irt)}"
    names = list(dict.fromkeys([*before, *after]))
    order = {name: i for i, name in enumerate(["a", "b", "c", "d"])}
    names.sort(key=lambda n: (n.startswith("se("), order.get(n.removeprefix("se(")[:1], 4), n))
    return [
        ParameterChange(
            item=old.id, model=model, parameter=name, old=before.get(name), new=after.get(name)
        )
        for name in names
        if before.get(name) != after.get(name)
    ]


def _correlation_pairs(bank: Bank) -> dict[str, str]:
    """``"correlation(c1, c2)" -> "0.600"`` for every pair of a correlated bank."""
    latent = bank.correlations
    if latent is None:
        return {}
    ids = latent.competencies
    return {
        f"correlation({ids[a]}, {ids[b]})": f"{latent.matrix[a][b]:.3f}"
        for a in range(len(ids))
        for b in range(a + 1, len(ids))
    }


def diff_banks(old: Bank, new: Bank) -> BankDiff:
    """Compare two versions of a bank item by item."""
    before = {item.id: item for item in old.items}
    after = {item.id: item for item in new.items}
    changed: list[tuple[str, list[str]]] = []
    changes: list[ParameterChange] = []
    for item_id, item in before.items():
        other = after.get(item_id)
        if other is None or other == item:
            continue
        content = [f for f in fields(item, other) if f != "irt" and not f.startswith("irt.")]
        if content:
            changed.append((item_id, content))
        changes += _parameter_changes(item, other)
    header = [
        (name, str(getattr(old, name)), str(getattr(new, name)))
        for name in ("id", "title", "version")
        if getattr(old, name) != getattr(new, name)
    ]
    was, now = _correlation_pairs(old), _correlation_pairs(new)
    header += [
        (pair, was.get(pair, "none"), now.get(pair, "none"))
        for pair in dict.fromkeys([*was, *now])
        if was.get(pair) != now.get(pair)
    ]
    return BankDiff(
        header=header,
        added=[i for i in after if i not in before],
        removed=[i for i in before if i not in after],
        changed=changed,
        parameters=changes,
    )
