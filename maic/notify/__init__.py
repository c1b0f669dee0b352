"""Notifications: who is told what (reminders, late notices, receipts, alerts, new packs), written to the outbox
in the same transaction as their cause and sent by the scheduler. Never imports dash or flask.

The events other modules call are plain functions taking the caller's session (so the message commits or
rolls back with its cause): `return_accepted`, `return_refused`, `pack_issued`, `pack_revised`,
`pull_outcome`. The scheduler's jobs are `maic.notify.checks.run_checks` and `maic.notify.send.deliver_due`.
"""

from __future__ import annotations

from maic.notify.events import pack_issued, pack_revised, pull_outcome, return_accepted, return_refused
from maic.notify.outbox import Message, enqueue

__all__ = ["Message", "enqueue", "pack_issued", "pack_revised", "pull_outcome", "return_accepted",
           "return_refused"]
