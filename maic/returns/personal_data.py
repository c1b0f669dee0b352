"""Aggregates only: spot columns and cells that look like personal data, and say which kind and why.

Returns carry counts by area and week. A column called "surname", or a cell holding an email address,
an NI number, a prison number, a postcode, a date of birth or a person's name means someone has pasted
case-level data into a return: the whole file is refused. Knows no database; callers pass the texts
(area names, metric labels) that are allowed to look like names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from maic.errors import Issue

WHY = "returns carry aggregate counts only, never details of people; remove it and send the counts"

_HEADERS = {
    "names": {"name", "names", "firstname", "forename", "forenames", "givenname", "surname", "lastname",
              "familyname", "fullname", "personname", "clientname", "offendername", "prisonername",
              "middlename", "alias"},
    "dates of birth": {"dob", "dateofbirth", "birthdate", "birthday", "dateofbirthddmmyyyy", "age"},
    "National Insurance numbers": {"ni", "nino", "ninumber", "ninonumber", "nationalinsurance",
                                   "nationalinsurancenumber"},
    "prison or case numbers": {"prisonnumber", "prisonernumber", "noms", "nomsnumber", "nomsid", "bookingnumber",
                               "crn", "pnc", "pncnumber", "pncid", "nhsnumber", "casenumber"},
    "postcodes or addresses": {"postcode", "postcodes", "address", "addressline1", "homeaddress", "street"},
    "email addresses or phone numbers": {"email", "emailaddress", "phone", "telephone", "mobile", "phonenumber"},
}

_CELL_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an email address", re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")),
    ("a National Insurance number",
     # Any two letters: the format matters, not whether HMRC would issue the prefix (QQ is its example).
     re.compile(r"^[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]$", re.I)),
    ("a prison number", re.compile(r"^[A-Z]\d{4}[A-Z]{2}$", re.I)),
    ("a postcode", re.compile(r"^(GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})$", re.I)),
    ("a phone number", re.compile(r"^(\+44\s?|0)(\d[\s-]?){9,10}$")),
]
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$|^(\d{4})-(\d{2})-(\d{2})$")
_NAME = re.compile(r"^(?:Mr|Mrs|Ms|Miss|Dr)?\.?\s*[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]*(?:[-'][A-Z]?[a-z]+)?){1,3}$")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def header_reason(name: str) -> str | None:
    """Why a column name looks like personal data, or None."""
    key = _norm(name)
    for kind, names in _HEADERS.items():
        if key in names:
            return kind
    return None


def cell_reason(text: str, today: dt.date, allowed: frozenset[str] = frozenset()) -> str | None:
    """Why one cell's text looks like personal data, or None. `allowed` holds known names (areas, metrics)."""
    value = text.strip()
    if len(value) < 5 or len(value) > 80 or value.lower() in allowed:
        return None
    for kind, pattern in _CELL_PATTERNS:
        if pattern.match(value):
            return kind
    match = _DATE.match(value)
    if match:
        year = int(match.group(3) or match.group(4))
        # Weeks of the incident are recent; a date decades back in a return is someone's birthday.
        if 1900 <= year <= today.year - 10:
            return "a date of birth"
    if _NAME.match(value):
        return "a person's name"
    return None


def header_issues(names: Iterable[tuple[int, str, str]]) -> list[Issue]:
    """(row, column, header text) triples -> one issue per column whose name looks like personal data."""
    out = []
    for row, column, name in names:
        kind = header_reason(name)
        if kind:
            out.append(Issue(row, column, f"the column '{_quote(name)}' looks like personal data ({kind}): {WHY}"))
    return out


def cell_issues(cells: Iterable[tuple[int, str, str]], today: dt.date, allowed: frozenset[str],
                limit: int = 50) -> list[Issue]:
    """(row, column, text) triples -> issues for cells that look like personal data (at most `limit`)."""
    out = []
    for row, column, text in cells:
        kind = cell_reason(text, today, allowed)
        if kind:
            out.append(Issue(row, column, f"'{_quote(text)}' looks like {kind}: {WHY}"))
            if len(out) >= limit:
                break
    return out


def _quote(text: str, width: int = 40) -> str:
    """Shown as plain text in reports; cut long values so a report never reproduces a whole record."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
