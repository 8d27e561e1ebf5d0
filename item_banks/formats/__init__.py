"""Item-bank formats other than the native one: QTI 3.0 and 2.x, GIFT, Moodle XML, CSV.

Every reader returns an :class:`~item_banks.formats.common.ImportResult`: the bank plus the
items it skipped (a feature Skillgauge lacks) and warnings, each a located
:class:`~item_banks.errors.Problem`. Malformed or unsafe input raises
:class:`~item_banks.errors.BankValidationError`; nothing partial is returned.
"""
