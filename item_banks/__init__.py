"""What an item bank is: schema, native format, validation, and scoring of a raw answer.

IRT parameters are in the logistic metric with D = 1 (see :mod:`item_banks.model`).
"""

from item_banks.errors import AnswerError, BankValidationError, ItemBankError, Problem
from item_banks.model import (
    Bank,
    Competency,
    ContentArea,
    FourPL,
    Graded,
    Interaction,
    IrtParameters,
    Item,
    Misconception,
    MultipleResponse,
    Numeric,
    OnePL,
    Option,
    PartialCredit,
    ShortText,
    SingleChoice,
    ThreePL,
    TwoPL,
)
from item_banks.native import (
    DEFAULT_LIMITS,
    Limits,
    content_hash,
    decode_bank,
    encode_bank,
    read_bank,
    write_bank,
)
from item_banks.scoring import RawAnswer, ScoredAnswer, score_answer

__all__ = [
    "DEFAULT_LIMITS",
    "AnswerError",
    "Bank",
    "BankValidationError",
    "Competency",
    "ContentArea",
    "FourPL",
    "Graded",
    "Interaction",
    "IrtParameters",
    "Item",
    "ItemBankError",
    "Limits",
    "Misconception",
    "MultipleResponse",
    "Numeric",
    "OnePL",
    "Option",
    "PartialCredit",
    "Problem",
    "RawAnswer",
    "ScoredAnswer",
    "ShortText",
    "SingleChoice",
    "ThreePL",
    "TwoPL",
    "content_hash",
    "decode_bank",
    "encode_bank",
    "read_bank",
    "score_answer",
    "write_bank",
]
