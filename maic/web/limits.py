"""How large a request may be: refused with 413 from its Content-Length, before a byte of its body is read.

Dash callbacks carry uploads (base64 in the callback's JSON), so their limit follows MAIC_MAX_UPLOAD_BYTES; every
other request (the sign-in and sign-out forms, the GET-only API) is small.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

CALLBACK_SUFFIX = "/_dash-update-component"
FORM_BYTES = 64 * 1024  # a sign-in form is a few hundred bytes
CALLBACK_OVERHEAD = 256 * 1024  # the callback's other inputs, ids and the data: URL's header around the file


def callback_limit(max_upload_bytes: int) -> int:
    """The largest callback body: the largest accepted file in base64 (4 bytes for every 3, rounded up) plus
    the rest of the callback."""
    return 4 * -(-max_upload_bytes // 3) + CALLBACK_OVERHEAD


def limit_for(path: str, max_upload_bytes: int) -> int:
    return callback_limit(max_upload_bytes) if path.endswith(CALLBACK_SUFFIX) else FORM_BYTES


def init_app(app: Flask) -> None:
    upload_bytes = int(app.config["MAIC_MAX_UPLOAD_BYTES"])
    # Flask's own limit too: a body sent without a Content-Length (chunked) is cut off there while it is read.
    app.config["MAX_CONTENT_LENGTH"] = callback_limit(upload_bytes)

    def refuse_oversized_body() -> None:
        allowed = limit_for(request.path, upload_bytes)
        request.max_content_length = allowed
        if request.content_length is not None and request.content_length > allowed:
            raise RequestEntityTooLarge(f"The request is larger than the {allowed:,} bytes this address accepts "
                                        f"(files: at most {upload_bytes:,} bytes).")

    # First of all the request hooks: nothing before it (sign-in check, CSRF, rate limit) may read the body.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_body)
