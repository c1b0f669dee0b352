"""Names people or files give us (file names, display names, user names), made safe to show as one line of text.

Control characters and line breaks would forge lines in logs and reports; bidirectional controls (an RTL
override) make "report<U+202E>txt.exe" show as something else. Knows nothing about the web or the database.
"""

from __future__ import annotations

import re
import unicodedata

from maic.errors import MaicError

# Bidirectional embeddings, overrides and isolates, and the marks that steer them (U+061C, U+200E, U+200F).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# C0 and C1 controls (tab, CR and LF included), DEL, and the Unicode line and paragraph separators.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def has_unsafe(text: str) -> bool:
    """True when the text holds a control character, a line break or a bidirectional control."""
    return bool(_BREAKS.search(text) or _BIDI.search(text))


def one_line(text: str) -> str:
    """The text as one plain line: line breaks and controls become a space, bidirectional controls go, so the
    characters show in the order they were stored."""
    flat = _BREAKS.sub(" ", _BIDI.sub("", unicodedata.normalize("NFC", text or "")))
    return re.sub(r" {2,}", " ", flat).strip()


def require_plain(text: str, what: str) -> str:
    """The text, or a MaicError naming what is wrong with it (for names a person types: they can fix it)."""
    if has_unsafe(text):
        raise MaicError(f"the {what} holds a line break, a control character or a text-direction control; "
                        "type it as plain text on one line")
    return text
