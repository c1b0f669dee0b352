"""pressure.rate (the RAG rating in plain Python) gives exactly what the pandas rating it replaced gave, copied below
as the definition, on generated figures: every basis (value, per 10,000 people, a share of another metric), zero,
negative and missing bases, missing populations, thresholds missing on either side or crossed."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from maic.picture.pressure import PER_10K, RATED_COLUMNS, RagMetric, rag_frame, rate


def rag_frame_as_defined(wide: pd.DataFrame, metrics: list[RagMetric], population: dict[str, int | None]) -> pd.DataFrame:
    columns = ["metric", "area_code", "week", "value", "measure", "rag", "note"]
    rated = [m for m in metrics if m.key in wide.columns]
    if wide.empty or not rated:
        return pd.DataFrame(columns=columns)
    long = (wide.melt(id_vars=["area_code", "week"], value_vars=[m.key for m in rated], var_name="metric")
            .dropna(subset=["value"]).reset_index(drop=True))
    info = pd.DataFrame([(m.key, m.basis or "", m.amber, m.red) for m in rated],
                        columns=["metric", "basis", "amber", "red"])
    long = long.merge(info, on="metric", how="left")
    ratio_bases = sorted({m.basis for m in rated if m.basis not in (None, PER_10K)})
    present = [b for b in ratio_bases if b in wide.columns]
    if present:
        bases = wide.melt(id_vars=["area_code", "week"], value_vars=present, var_name="basis",
                          value_name="basis_value")
        long = long.merge(bases, on=["area_code", "week", "basis"], how="left")
    else:
        long["basis_value"] = math.nan
    value = long["value"].astype(float)
    per_10k = long["basis"] == PER_10K
    ratio = (long["basis"] != "") & ~per_10k
    pop = long["area_code"].map({code: p or math.nan for code, p in population.items()}).astype(float)
    basis = long["basis_value"].astype(float)
    measure = value.copy()
    # Multiplied first, then one division: the same double the database computes for the red trend.
    measure[per_10k] = (value * 10_000 / pop)[per_10k]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = value / basis.where(basis > 0)
    # Demand with no capacity at all is as red as it gets; nothing asked of nothing is green.
    share[(basis == 0) & (value > 0)] = math.inf
    share[(basis == 0) & (value == 0)] = 0.0
    measure[ratio] = share[ratio]
    note = pd.Series("", index=long.index, dtype=object)
    note[per_10k & pop.isna()] = "no population figure"
    missing_basis = ratio & basis.isna()
    note[missing_basis] = "no " + long.loc[missing_basis, "basis"].str.replace("_", " ") + " figure"
    rag = pd.Series(None, index=long.index, dtype=object)
    rag[measure >= long["amber"].astype(float)] = "A"
    rag[measure >= long["red"].astype(float)] = "R"
    rag[measure.notna() & rag.isna()] = "G"
    long["value"] = long["value"].astype(int)
    long["measure"], long["rag"], long["note"] = measure, rag, note
    return long[columns]


WEEKS = [dt.date(2026, 11, 23), dt.date(2026, 11, 30)]
AREAS = ["A1", "A2", "A3"]
KEYS = ["m0", "m1", "m2", "cap"]
thresholds = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 25.0]))


@st.composite
def cases(draw):
    metrics = [RagMetric(key, key, draw(st.sampled_from([None, PER_10K, "cap", "m2", "gone"])), draw(thresholds),
                         draw(thresholds)) for key in KEYS[:3]]
    metrics = [m for m in metrics if m.basis != m.key]
    rows = []
    for code in AREAS:
        for week in WEEKS:
            if draw(st.booleans()):
                rows.append({"area_code": code, "week": week, **{key: draw(st.one_of(
                    st.just(math.nan), st.integers(-3, 40).map(float))) for key in KEYS}})
    wide = pd.DataFrame(rows, columns=["area_code", "week", *KEYS])
    population = {code: draw(st.one_of(st.none(), st.sampled_from([0, 7, 60_000, 123_457]))) for code in AREAS}
    return wide, metrics, population


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["metric", "area_code", "week"]).reset_index(drop=True)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_rate_equals_the_pandas_rating(case):
    wide, metrics, population = case
    expected = _sorted(rag_frame_as_defined(wide, metrics, population))
    got = _sorted(rag_frame(wide, metrics, population))
    assert list(got.columns) == RATED_COLUMNS
    assert len(got) == len(expected)
    for column in ["metric", "area_code", "week", "note"]:
        assert got[column].tolist() == expected[column].tolist(), column
    assert [int(v) for v in got["value"]] == [int(v) for v in expected["value"]]
    for a, b in zip(got["measure"].tolist(), expected["measure"].tolist(), strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == b, (a, b)
    assert [r if isinstance(r, str) else None for r in got["rag"]] == \
        [r if isinstance(r, str) else None for r in expected["rag"]]
    # rate() itself, from the figures as core.figures gives them.
    found = {(key, r.area_code, r.week): int(getattr(r, key)) for r in wide.itertuples(index=False) for key in KEYS
             if not pd.isna(getattr(r, key))}
    assert _sorted(pd.DataFrame(rate(found, metrics, population), columns=RATED_COLUMNS)).equals(got)
