"""Offset paging behind opaque page tokens (the REST facade maps skip/top onto the same)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_window(page_size: int, page_token: str) -> tuple[int, int]:
    """(limit, offset) for a request; page_size 0 means the default."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return limit, 0
    try:
        offset = int(base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("o:"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("page_token is not one this service issued") from None
    if offset < 0:
        raise InvalidArgument("page_token is not one this service issued")
    return limit, offset


def next_page_token(limit: int, offset: int, total: int) -> str:
    following = offset + limit
    return base64.urlsafe_b64encode(f"o:{following}".encode()).decode() if following < total else ""


def page_fields(rows: Sequence[Mapping[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    """`next_page_token` and `total_size` of a list response, from rows that carry the
    query's `count(*) OVER () AS total`."""
    total = int(rows[0]["total"]) if rows else 0
    return {"next_page_token": next_page_token(limit, offset, total), "total_size": total}
