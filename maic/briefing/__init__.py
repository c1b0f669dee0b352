"""Briefing packs (issue 13): the SCG pack (CRIP / SitRep), the neighbours' pack and the Warn and Inform brief,
as printable HTML and as PDF (headless Chromium), kept as issued, audited, and checked for revised figures.

Every number comes from maic.picture. Never imports dash or flask. The functions other modules call:

- ``issue_pack(session, request, made_by, *, settings, now=None, remote_addr="") -> IssuedPack``: make the pack
  for a PackRequest (audience scg | neighbour | comms, week, weeks from, area, scope, as at, pdf | html), keep it
  (file bytes, sha256, as at, data version, made by; a Warn and Inform brief as a draft) and audit it. Flushes;
  the caller commits, so a "new pack is ready" notice written in the same transaction goes with it.
- ``packs_issued_since(session, since) -> list[IssuedPack]``: packs issued (and briefs approved) after a time,
  oldest first: what to announce.
- ``revised_packs(session, since=None) -> list[RevisedPack]``: issued packs with figures a later correction
  revised (recorded after `since`), each with its RevisedFigure list (metric, area, week, in the pack, now).
- ``approve_brief(session, pack_id, approved_by, *, settings, ...) -> IssuedPack``: an analyst approves a
  Warn and Inform draft; the approved text is the file from then on. Audited.
- ``make_document`` / ``render_file`` / ``html_page`` / ``pdf_bytes``: a pack's document and file without keeping it.
- ``list_packs``, ``get_pack``, ``revised_figures``: the Briefings page's reads.
- ``BriefingSettings.from_config(config)`` reads MAIC_PROTECTIVE_MARKING, MAIC_TIMEZONE, MAIC_RETURN_DEADLINE,
  MAIC_SUPPRESSION_THRESHOLD, MAIC_INCIDENT_START, MAIC_SHARED_HISTORY_DAYS, MAIC_CHROMIUM, MAIC_DEMO_BANNER.
- ``scheduled_pack(factory, config, now=None) -> str``: the scheduler's weekly SCG pack (job "briefing-weekly").
- Notifications (maic.notify, issue 14): issue_pack writes "a new pack is ready" (notify.pack_issued) in its own
  transaction for every issued SCG or neighbours' pack; ``store.notify_revised(session)`` (job
  "briefing-revisions") writes notify.pack_revised once per distinct set of revised figures of an issued pack.
"""

from maic.briefing.document import AUDIENCE_NAMES, AUDIENCES, COMMS, NEIGHBOUR, SCG, Document
from maic.briefing.render import RendererMissing, chromium_problem, html_page, pdf_bytes
from maic.briefing.request import HOME, HTML, NEIGHBOURS, PDF, BriefingSettings, PackRequest
from maic.briefing.revisions import RevisedFigure, revised_figures
from maic.briefing.schedule import scheduled_pack, scheduled_week
from maic.briefing.store import (
    IssuedPack,
    RevisedPack,
    approve_brief,
    audience_name,
    get_pack,
    issue_pack,
    list_packs,
    make_document,
    packs_issued_since,
    render_file,
    revised_packs,
)

__all__ = [
    "AUDIENCES", "AUDIENCE_NAMES", "COMMS", "HOME", "HTML", "NEIGHBOUR", "NEIGHBOURS", "PDF", "SCG",
    "BriefingSettings", "Document", "IssuedPack", "PackRequest", "RendererMissing", "RevisedFigure", "RevisedPack",
    "approve_brief", "audience_name", "chromium_problem", "get_pack", "html_page", "issue_pack", "list_packs",
    "make_document", "packs_issued_since", "pdf_bytes", "render_file", "revised_figures", "revised_packs",
    "scheduled_pack", "scheduled_week",
]
