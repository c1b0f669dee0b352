"""Component ids, shared by layouts and callbacks so that a typo fails at import, not in the browser."""

URL = "url"
PAGE = "page"
ALERT = "alert"
DATA_VERSION = "data-version"
LIVE_TIMER = "live-timer"

HEADLINE_TILES = "headline-tiles"
HEADLINE_ASAT = "headline-asat"
WEEK_PICKER = "week-picker"
