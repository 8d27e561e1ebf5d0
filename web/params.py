"""Typed request parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

#: A number stored in a 32-bit integer column (PostgreSQL ``integer``): larger values are
#: refused with a 400 problem before they reach the database, which would overflow.
StoredInt = Annotated[int, Parameter(ge=0, le=2**31 - 1)]
