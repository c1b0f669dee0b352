"""A realistic demo: 16 weeks of returns for the home LRF and its neighbours, dated to end on the day it is seeded.

Calibrated on FACTS.md: tranche spikes in the weeks of 10 September and 22 October, about 13% of people
released with no fixed abode, TA pressure in Cambridge and Peterborough. The story is written on the real
2024 calendar (August to November) and moved, as a whole and by whole weeks, so that its last week is the
last complete week when it is seeded (`DemoCalendar`): a live incident on that day. The incident's start and
tranche dates in the database move with it and are labelled as demo dates; the reference YAML keeps the
real ones. Every figure is written as a CSV return and ingested through the same pipeline as a real one, sent
by the agency's demo lead, with late returns, one missing return and a correction; a return the story has
arriving after the moment of seeding is not in yet. Synthetic: screens say "Demo data".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import random
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.auth import create_user
from maic.errors import MaicError
from maic.models import (
    LRF,
    Agency,
    Area,
    AuditEvent,
    Incident,
    Metric,
    Return,
    ReturnSource,
    Role,
    User,
    utcnow,
)
from maic.reference import NEIGHBOUR_KIND
from maic.returns.ingest import IngestSettings, Submission, ingest_return
from maic.weeks import monday_of, weeks_between

# The story's calendar: the real one of the 2024 scheme. Every date below is moved by DemoCalendar.shift.
FIRST_WEEK = dt.date(2024, 8, 5)
LAST_WEEK = dt.date(2024, 11, 18)
WEEK = dt.timedelta(weeks=1)
TRANCHE_ONE_WEEK = dt.date(2024, 9, 9)
TRANCHE_TWO_WEEK = dt.date(2024, 10, 21)
# Releases per week into the whole home LRF before the scheme, and the people released early on each
# tranche day (about 1/10 of the national 1,700 and 1,100 to the East of England, a seventh of that here).
BASE_WEEKLY_RELEASES = 19
TRANCHE_ONE_EXTRA = 42
TRANCHE_TWO_EXTRA = 17
NFA_SHARE = 0.13
# Where people settle: the cities and the districts with prisons take more than their population share.
SETTLEMENT_WEIGHT = {"E07000008": 1.3, "E06000031": 1.6, "E07000010": 1.2}
TA_BASE = {"E07000008": (107, 112), "E06000031": (372, 380), "E07000010": (55, 60), "E07000011": (66, 75),
           "E07000012": (50, 58), "E07000009": (30, 35)}  # households in TA, capacity, at the start
ROUGH_SLEEPERS = {"E07000008": 24, "E06000031": 19, "E07000010": 5, "E07000011": 6, "E07000012": 3, "E07000009": 2}

LATE = {("fenland-housing", dt.date(2024, 9, 2)), ("fenland-housing", dt.date(2024, 9, 30)),
        ("cgl-cambs", dt.date(2024, 10, 28)), ("dwp-cambs", dt.date(2024, 8, 19)),
        ("cpft", dt.date(2024, 11, 4))}
MISSING = {("east-cambs-housing", dt.date(2024, 10, 14))}
CORRECTED = ("probation-cambs", TRANCHE_ONE_WEEK)

DEMO_USERS = [
    ("admin", Role.ADMIN, "Alex Admin (MAIC administrator)", None, None),
    ("analyst", Role.ANALYST, "Priya Analyst (MAIC)", None, None),
    ("viewer", Role.VIEWER, "Sam Viewer (SCG member)", None, None),
    ("housing.lead", Role.AGENCY_LEAD, "Jo Lead (Cambridge City housing)", "cambridge-housing", None),
    ("norfolk.neighbour", Role.NEIGHBOUR, "Nat Neighbour (Norfolk LRF)", None, "norfolk"),
]
# Every other home agency gets its own lead, `<slug>.lead`: the demo's returns are sent by the agencies' leads.
LEAD_SUFFIX = ".lead"
DEMO_DATE_LABEL = " (demo date)"
SEED_ACTION = "demo.seed"


@dataclass(frozen=True)
class DemoCalendar:
    """Where the story sits in time: moved by whole weeks so that its last week is the last complete week
    before `now` (naive UTC), the moment the demo is seeded."""

    now: dt.datetime
    shift: dt.timedelta

    @classmethod
    def on(cls, now: dt.datetime) -> DemoCalendar:
        return cls(now, monday_of(now.date()) - WEEK - LAST_WEEK)

    @property
    def first_week(self) -> dt.date:
        return FIRST_WEEK + self.shift

    @property
    def last_week(self) -> dt.date:
        return LAST_WEEK + self.shift

    def week(self, story_week: dt.date) -> dt.date:
        return story_week + self.shift

    def moment(self, story_moment: dt.datetime) -> dt.datetime:
        return story_moment + self.shift


@dataclass(frozen=True)
class DemoArea:
    code: str
    population: int
    lrf: str


def releases_series(areas: list[DemoArea], rng: random.Random) -> dict[tuple[str, dt.date], dict[str, int]]:
    """Releases by area and week, with tranche split and NFA, for every week from the first to four ahead."""
    weights = {a.code: a.population * SETTLEMENT_WEIGHT.get(a.code, 1.0) for a in areas}
    total_weight = sum(weights.values())
    lrf_pop = sum(a.population for a in areas)
    scale = lrf_pop / 904_000  # the home LRF's population: neighbours scale with theirs
    out = {}
    for week in weeks_between(FIRST_WEEK, LAST_WEEK + dt.timedelta(weeks=4)):
        after_scheme = week > TRANCHE_ONE_WEEK
        base = BASE_WEEKLY_RELEASES * scale * (1.25 if after_scheme else 1.0)
        t1 = TRANCHE_ONE_EXTRA * scale if week == TRANCHE_ONE_WEEK else 0
        t2 = TRANCHE_TWO_EXTRA * scale if week == TRANCHE_TWO_WEEK else 0
        for area in areas:
            share = weights[area.code] / total_weight
            n_t1 = _poisson(rng, t1 * share)
            n_t2 = _poisson(rng, t2 * share)
            total = _poisson(rng, base * share) + n_t1 + n_t2
            nfa_rate = NFA_SHARE + (0.06 if n_t1 + n_t2 else 0)
            nfa = sum(1 for _ in range(total) if rng.random() < nfa_rate)
            out[(area.code, week)] = {"releases_total": total, "releases_tranche1": n_t1,
                                      "releases_tranche2": n_t2, "releases_nfa": nfa}
    return out


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def home_figures(areas: list[DemoArea], rng: random.Random) -> dict[str, dict[tuple[str, dt.date], dict[str, int]]]:
    """Every home metric by the agency kind that reports it: {kind: {(area, week): {metric: value}}}."""
    releases = releases_series(areas, rng)
    weeks = weeks_between(FIRST_WEEK, LAST_WEEK)
    by_kind: dict[str, dict[tuple[str, dt.date], dict[str, int]]] = {}

    def put(kind: str, code: str, week: dt.date, metric: str, value: float) -> None:
        by_kind.setdefault(kind, {}).setdefault((code, week), {})[metric] = max(0, int(round(value)))

    for area in areas:
        in_ta, capacity = TA_BASE.get(area.code, (30, 40))
        awaiting = 2.0
        caseload = area.population / 10_000 * 24
        for week in weeks:
            rel = releases[(area.code, week)]
            pressure = rel["releases_nfa"] + rel["releases_tranche1"] * 0.3 + rel["releases_tranche2"] * 0.3
            for metric in ("releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa"):
                put("probation", area.code, week, metric, rel[metric])
            referrals = _poisson(rng, rel["releases_total"] * 0.45 + 0.5)
            awaiting = max(0.0, awaiting * 0.75 + referrals * 0.5 + rng.uniform(-1, 1))
            growth = (1.6 if area.code in SETTLEMENT_WEIGHT else 0.5) if week > TRANCHE_ONE_WEEK else 0.0
            in_ta = max(0.0, in_ta + pressure * 0.7 + growth - rng.uniform(0.4, 1.6))
            if week == dt.date(2024, 10, 7):
                capacity += 6 if area.code in ("E07000008", "E06000031") else 2  # emergency block booking
            put("housing", area.code, week, "housing_referrals", referrals)
            put("housing", area.code, week, "referrals_awaiting_placement", awaiting)
            put("housing", area.code, week, "households_in_ta", in_ta)
            put("housing", area.code, week, "ta_capacity", capacity)
            put("housing", area.code, week, "rough_sleepers",
                ROUGH_SLEEPERS.get(area.code, 3) + rel["releases_nfa"] * 0.5 + rng.uniform(-2, 2))
            mh_capacity = max(2, round(area.population / 10_000 * 0.45))
            put("mental_health", area.code, week, "mh_capacity", mh_capacity)
            put("mental_health", area.code, week, "mh_referrals", _poisson(rng, rel["releases_total"] * 0.3 + 0.8))
            sm_capacity = max(2, round(area.population / 10_000 * 0.55))
            put("substance_misuse", area.code, week, "sm_capacity", sm_capacity)
            put("substance_misuse", area.code, week, "sm_referrals", _poisson(rng, rel["releases_total"] * 0.38 + 0.8))
            put("police", area.code, week, "police_incidents",
                _poisson(rng, area.population / 10_000 * 0.35 + rel["releases_total"] * 0.25))
            caseload = caseload * 0.985 + rel["releases_total"] * 0.9
            put("probation", area.code, week, "probation_caseload", caseload)
            put("probation", area.code, week, "probation_recalls",
                _poisson(rng, area.population / 10_000 * (0.22 if week <= TRANCHE_ONE_WEEK else 0.34)))
            put("social_care", area.code, week, "asc_referrals", _poisson(rng, rel["releases_total"] * 0.06 + 0.3))
            put("dwp", area.code, week, "uc_claims", _poisson(rng, rel["releases_total"] * 0.6))
            for ahead, completeness in ((1, 0.95), (2, 0.8), (3, 0.6), (4, 0.4)):
                future = releases[(area.code, week + dt.timedelta(weeks=ahead))]["releases_total"]
                put("prison", area.code, week, f"releases_notified_{ahead}w", future * completeness)
    return by_kind


def neighbour_figures(areas: list[DemoArea], rng: random.Random) -> dict[tuple[str, dt.date], dict[str, int]]:
    releases = releases_series(areas, rng)
    out: dict[tuple[str, dt.date], dict[str, int]] = {}
    for area in areas:
        in_ta = area.population / 10_000 * rng.uniform(2.0, 5.0)
        for week in weeks_between(FIRST_WEEK, LAST_WEEK):
            rel = releases[(area.code, week)]
            in_ta += rel["releases_nfa"] * 0.5 - rng.uniform(0, 1.2) + 0.4
            out[(area.code, week)] = {
                **rel,
                "housing_referrals": _poisson(rng, rel["releases_total"] * 0.45),
                "households_in_ta": max(0, round(in_ta)),
                "rough_sleepers": _poisson(rng, area.population / 10_000 * 0.6),
                "probation_recalls": _poisson(rng, area.population / 10_000 * 0.3),
            }
    return out


def to_csv(week: dt.date, rows: dict[str, dict[str, int]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["week", "area_code", "metric", "value"])
    for code in sorted(rows):
        for metric, value in rows[code].items():
            writer.writerow([week.isoformat(), code, metric, value])
    return buffer.getvalue().encode("utf-8")


def received_at(agency_slug: str, week: dt.date, rng: random.Random) -> dt.datetime:
    """Monday morning to Tuesday 11:00 after the week (UTC in BST/GMT alike); late ones on Wed or Thursday."""
    next_monday = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(8, 0))
    if (agency_slug, week) in LATE:
        return next_monday + dt.timedelta(days=rng.choice([2, 3]), hours=rng.uniform(1, 8))
    return next_monday + dt.timedelta(hours=rng.uniform(0.5, 26))


def already_seeded(session: orm.Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Return)) > 0


def demo_calendar(now: dt.datetime | None, incident_start: dt.date) -> DemoCalendar:
    """The demo's calendar when seeded at `now` (default: the clock); refused if it would begin before the
    configured incident start, whose earlier weeks every door refuses."""
    calendar = DemoCalendar.on(now or utcnow())
    if calendar.first_week < incident_start:
        raise MaicError(f"the demo would begin on {calendar.first_week.isoformat()}, before MAIC_INCIDENT_START "
                        f"({incident_start.isoformat()}): seed it on a later day")
    return calendar


def seed(factory: orm.sessionmaker[orm.Session], settings: IngestSettings, out_dir: Path, *,
         now: dt.datetime | None = None, seed_value: int = 2024) -> int:
    """Date the incident, then write and ingest every demo return that has arrived by `now` (naive UTC, default
    the clock), in the order it arrived, each sent by its agency's lead. Returns the number ingested."""
    calendar = demo_calendar(now, settings.incident_start)
    settings = replace(settings, today=calendar.now.date())
    rng = random.Random(seed_value)
    with factory() as session, session.begin():
        date_incident(session, calendar.shift)
        audit.record(session, "demo seed", SEED_ACTION, "incident",
                     f"shift_days={calendar.shift.days} first_week={calendar.first_week.isoformat()} "
                     f"last_week={calendar.last_week.isoformat()} seeded_at={calendar.now:%Y-%m-%dT%H:%M}")
    with factory() as session:
        home = session.scalar(sa.select(LRF).where(LRF.is_home.is_(True)))
        agencies = session.scalars(sa.select(Agency).order_by(Agency.slug)).all()
        areas_by_lrf: dict[int, list[DemoArea]] = {}
        for area in session.scalars(sa.select(Area)):
            areas_by_lrf.setdefault(area.lrf_id, []).append(DemoArea(area.code, area.population or 0, ""))
        kinds = {m.key: m.agency_kind for m in session.scalars(sa.select(Metric))}
        agency_areas = {a.slug: {x.code for x in a.areas} for a in agencies}
        lrf_of = {a.slug: a.lrf.code for a in agencies}
        leads = agency_leads(session)
    home_data = home_figures(sorted(areas_by_lrf[home.id], key=lambda a: a.code), rng)

    # (when it arrives in the story, agency, story week, rows, file name suffix, sent by a lead or federated)
    story: list[tuple[dt.datetime, str, dt.date, dict[str, dict[str, int]], str, bool]] = []
    for agency in agencies:
        for week in weeks_between(FIRST_WEEK, LAST_WEEK):
            if (agency.slug, week) in MISSING:
                continue
            if agency.kind == NEIGHBOUR_KIND:
                continue
            rows = {code: metrics for (code, w), metrics in home_data.get(agency.kind, {}).items()
                    if w == week and code in agency_areas[agency.slug]}
            rows = {code: {k: v for k, v in m.items() if kinds.get(k) == agency.kind} for code, m in rows.items()}
            if not rows:
                continue
            if agency.slug not in leads:
                raise MaicError(f"the agency '{agency.slug}' has no demo lead: create the demo users first")
            when = received_at(agency.slug, week, rng)
            story.append((when, agency.slug, week, rows, "", False))
            if (agency.slug, week) == CORRECTED:
                # Probation found Peterborough's tranche-one count double-counted a transfer: corrected two days on.
                fixed = {code: dict(m) for code, m in rows.items()}
                fixed["E06000031"]["releases_total"] -= 3
                fixed["E06000031"]["releases_tranche1"] = max(0, fixed["E06000031"]["releases_tranche1"] - 3)
                story.append((when + dt.timedelta(days=2, hours=3), agency.slug, week, fixed, "-corrected", False))

    for agency in agencies:
        if agency.kind != NEIGHBOUR_KIND:
            continue
        lrf_areas = sorted(areas_by_lrf[agency.lrf_id], key=lambda a: a.code)
        data = neighbour_figures(lrf_areas, rng)
        for week in weeks_between(FIRST_WEEK, LAST_WEEK):
            rows = {code: metrics for (code, w), metrics in data.items() if w == week}
            when = dt.datetime.combine(week + dt.timedelta(days=9), dt.time(6, 0))  # their Wednesday pull
            story.append((when, agency.slug, week, rows, "", True))

    arrived = sorted((item for item in story if calendar.moment(item[0]) <= calendar.now), key=lambda item: item[0])
    for when, slug, week, rows, suffix, federated in arrived:
        data = to_csv(calendar.week(week), rows)
        name = f"{slug}-{calendar.week(week).isoformat()}{suffix}.csv"
        folder = out_dir / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        if federated:
            submission = Submission(data=data, filename=name, agency_slug=slug, source=ReturnSource.FEDERATION,
                                    actor=f"federation:{lrf_of[slug]}", received_at=calendar.moment(when))
        else:
            user_id, username = leads[slug]
            submission = Submission(data=data, filename=name, agency_slug=slug, source=ReturnSource.UPLOAD,
                                    user_id=user_id, actor=username, received_at=calendar.moment(when))
        ingest_return(factory, submission, settings)
    return len(arrived)


def agency_leads(session: orm.Session) -> dict[str, tuple[int, str]]:
    """The first active agency lead of each agency: {agency slug: (user id, username)}."""
    rows = session.execute(sa.select(Agency.slug, User.id, User.username).join(User, User.agency_id == Agency.id)
                           .where(User.role == Role.AGENCY_LEAD, User.active.is_(True)).order_by(User.id)).all()
    leads: dict[str, tuple[int, str]] = {}
    for slug, user_id, username in rows:
        leads.setdefault(slug, (user_id, username))
    return leads


def date_incident(session: orm.Session, shift: dt.timedelta) -> None:
    """Move the incident's start to the demo's first week and its markers by `shift`, named as demo dates.

    A marker with its real name and date (as `maic reference load` writes it) becomes "<name> (demo date)",
    its note keeping the real date; run again after a reference load, it puts the demo dates back.
    """
    if not shift:
        return
    for incident in session.scalars(sa.select(Incident)):
        incident.start = FIRST_WEEK + shift
        markers = {m.name: m for m in incident.markers}
        for name, marker in markers.items():
            if name.endswith(DEMO_DATE_LABEL):
                continue
            real = f"the real date was {marker.date.day} {marker.date:%B %Y}"
            note = f"Demo date: {real}" + (f" ({marker.note})" if marker.note else "")
            demo = markers.get(name + DEMO_DATE_LABEL)
            if demo is None:
                marker.name, marker.date, marker.note = name + DEMO_DATE_LABEL, marker.date + shift, note[:300]
            else:
                demo.date, demo.note = marker.date + shift, note[:300]
                session.delete(marker)
    session.flush()


def seeded_shift(session: orm.Session) -> dt.timedelta | None:
    """How far the demo was moved when it was seeded (from its audit event); None when it never was."""
    detail = session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == SEED_ACTION)
                            .order_by(AuditEvent.id.desc()).limit(1))
    if detail is None:
        return None
    fields = dict(part.partition("=")[::2] for part in detail.split())
    return dt.timedelta(days=int(fields.get("shift_days", "0")))


def create_demo_users(session: orm.Session) -> list[tuple[str, str, str]]:
    """Create one user per role, and a lead for every home agency, that does not exist yet, with generated
    passwords: (username, password, role)."""
    wanted = list(DEMO_USERS)
    named = {agency for *_, agency, _lrf in DEMO_USERS if agency}
    home_agencies = session.execute(
        sa.select(Agency.slug, Agency.name).join(LRF).where(LRF.is_home.is_(True), Agency.kind != NEIGHBOUR_KIND)
        .order_by(Agency.slug)).all()
    wanted += [(slug + LEAD_SUFFIX, Role.AGENCY_LEAD, f"Lead, {name}", slug, None)
               for slug, name in home_agencies if slug not in named]
    logins = []
    for username, role, name, agency, lrf in wanted:
        if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            continue
        password = "demo-" + secrets.token_urlsafe(9)
        create_user(session, username, password, role, display_name=name, agency_slug=agency, lrf_code=lrf)
        logins.append((username, password, role))
    return logins


def write_logins(logins_file: Path, logins: list[tuple[str, str, str]]) -> None:
    """Kept in the data folder (mode 600) so that `make run` can print them again."""
    fd = os.open(logins_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write("".join(f"{u}\t{p}\t{r}\n" for u, p, r in logins))


def read_logins(logins_file: Path) -> list[tuple[str, str, str]]:
    if not logins_file.exists():
        return []
    return [tuple(line.split("\t")) for line in logins_file.read_text().splitlines() if line]  # type: ignore[misc]
