"""Another LRF's reference data: the starting file `maic reference init` writes, the checks a hand-edited
file goes through, and MAIC_HOME_LRF (loading and starting the app), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
import yaml

from maic.db import transaction
from maic.errors import MaicError
from maic.models import LRF, Agency, Area
from maic.reference import ReferenceInvalid, check_reference, load_reference, read_reference
from maic.reference_template import draft_reference, render

BUNDLED = read_reference()


def _norfolk() -> dict:
    return draft_reference(copy.deepcopy(BUNDLED), "norfolk")


def test_norfolk_starts_with_its_districts_its_bordering_neighbours_and_the_catalogue():
    data = _norfolk()
    home, *neighbours = data["lrfs"]
    assert (home["code"], home["name"], home["home"]) == ("norfolk", "Norfolk LRF", True)
    assert {a["code"]: a["population"] for a in home["areas"]}["E07000148"] == 145000
    assert len(home["areas"]) == 7
    # The LRFs with a district on Norfolk's border (Fenland, East Cambridgeshire; West, Mid and East Suffolk;
    # South Holland), and not Essex, which touches only Suffolk.
    assert [n["code"] for n in neighbours] == ["cambs-peterborough", "suffolk", "lincolnshire"]
    assert not any(n.get("home") for n in neighbours)
    slugs = {a["slug"]: a for a in data["agencies"]}
    assert slugs["norwich-housing"]["areas"] == ["E07000148"]
    assert slugs["norfolk-probation"] == {"slug": "norfolk-probation", "name": "Norfolk: Probation Service (HMPPS)",
                                          "kind": "probation", "lrf": "norfolk", "areas": "all"}
    assert slugs["cambs-peterborough-maic"]["kind"] == "neighbour_maic"
    assert "kings-lynn-and-west-norfolk-housing" in slugs
    assert [m["key"] for m in data["metrics"]] == [m["key"] for m in BUNDLED["metrics"]]
    assert data["incident"] == BUNDLED["incident"]


def test_the_written_file_reads_back_as_the_same_data_and_passes_the_checks(tmp_path):
    data = _norfolk()
    path = tmp_path / "reference-norfolk.yaml"
    path.write_text(render(data, file_name=path.name), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Reference data for Norfolk LRF (norfolk)")
    assert "  - {slug: norwich-housing, name: Norwich council housing, kind: housing" in text
    assert read_reference(path) == data
    assert check_reference(read_reference(path), home_lrf="norfolk") == []


def test_an_lrf_not_in_the_source_lists_its_districts_by_code():
    data = draft_reference(copy.deepcopy(BUNDLED), "fens", name="Fens LRF", area_codes=["E07000010", "E07000140"],
                           neighbour_codes=["norfolk"])
    home, norfolk = data["lrfs"]
    assert home["areas"] == [{"code": "E07000010", "name": "Fenland", "population": 103000},
                             {"code": "E07000140", "name": "South Holland", "population": 97000}]
    assert norfolk["code"] == "norfolk" and len(norfolk["areas"]) == 7
    assert check_reference(data) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"lrf_code": "kent"}, "LRF 'kent' is not in the source file (it lists cambs-peterborough, norfolk"),
    ({"lrf_code": "kent", "name": "Kent LRF", "area_codes": ["E07000105"]},
     "E07000105: not a district in the bundled boundaries"),
    ({"lrf_code": "kent", "area_codes": ["E07000010"]}, "give its name with --name"),
    ({"lrf_code": "norfolk", "neighbour_codes": ["kent"]}, "--neighbours: kent not an LRF of the source file"),
])
def test_init_says_what_is_wrong(kwargs, message):
    with pytest.raises(MaicError) as caught:
        draft_reference(copy.deepcopy(BUNDLED), **kwargs)
    assert message in caught.value.message


def _broken(change) -> list[str]:
    data = _norfolk()
    change(data)
    return check_reference(data)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["agencies"][0].update(areas=["E07000008"]),
     "agencies[1] (breckland-housing): E07000008 is not an area of LRF 'norfolk'"),
    (lambda d: d["agencies"][8].update(kind="polise"), "agencies[9] (norfolk-police): kind 'polise' is not one of"),
    (lambda d: d["agencies"][0].update(lrf="kent"), "agencies[1] (breckland-housing): LRF 'kent' is not listed"),
    (lambda d: d["agencies"].append(dict(d["agencies"][0])), "agency 'breckland-housing' is listed twice"),
    (lambda d: d["lrfs"][0]["areas"][0].update(code="E0700014"), "area 'E0700014' is not an ONS GSS code"),
    (lambda d: d["lrfs"][0]["areas"][0].update(population="143k"), "E07000143 population '143k' is not a whole"),
    (lambda d: d["lrfs"][1]["areas"].append({"code": "E07000148", "name": "Norwich"}),
     "lrfs[2] (cambs-peterborough): area E07000148 is already an area of LRF 'norfolk'"),
    (lambda d: d["lrfs"][1].update(home=True), "2 LRFs are marked home (norfolk, cambs-peterborough)"),
    (lambda d: d["lrfs"][0].pop("home"), "no LRF is marked `home: true` (or set MAIC_HOME_LRF)"),
    (lambda d: d["metrics"][0].update(aggregation="mean"), "metrics[1] (releases_total): aggregation must be sum"),
    (lambda d: d["metrics"][6]["rag"].update(basis="ta_capacty"),
     "metrics[7] (households_in_ta): rag basis 'ta_capacty' is not value, per_10k or a metric key"),
    (lambda d: d["metrics"][0].update(agency_kind="courts"), "no agency is of kind 'courts', so nobody could send"),
    (lambda d: d.pop("metrics"), "'metrics' is missing or empty"),
], ids=["area-outside-lrf", "unknown-kind", "unknown-lrf", "duplicate-agency", "bad-code", "bad-population",
        "area-twice", "two-homes", "no-home", "aggregation", "rag-basis", "metric-kind", "no-metrics"])
def test_every_problem_in_a_hand_edited_file_is_named(change, expected):
    problems = _broken(change)
    assert any(expected in p for p in problems), problems


def test_a_file_with_problems_loads_nothing(factory):
    data = _norfolk()
    data["agencies"][0]["areas"] = ["E07000008"]
    data["metrics"][0]["aggregation"] = "mean"
    with pytest.raises(ReferenceInvalid) as caught, transaction(factory) as session:
        load_reference(session, data)
    assert "2 problem(s); nothing was loaded" in caught.value.message
    with factory() as session:
        assert session.scalar(sa.select(LRF.code).where(LRF.is_home.is_(True))) == "cambs-peterborough"
        assert session.scalar(sa.select(Agency).where(Agency.slug == "breckland-housing")) is None


def test_loading_norfolks_file_makes_norfolk_the_only_home(factory):
    """A database that served Cambridgeshire & Peterborough: after Norfolk's file, Cambridgeshire is a neighbour."""
    with transaction(factory) as session:
        load_reference(session, _norfolk(), home_lrf="norfolk")
    with factory() as session:
        assert session.scalars(sa.select(LRF.code).where(LRF.is_home.is_(True))).all() == ["norfolk"]
        norwich = session.scalar(sa.select(Area).where(Area.code == "E07000148"))
        assert norwich.lrf.code == "norfolk"


def test_home_lrf_setting_refuses_a_file_that_makes_another_lrf_home(factory):
    with pytest.raises(ReferenceInvalid) as caught, transaction(factory) as session:
        load_reference(session, read_reference(), home_lrf="norfolk")
    assert ("the file makes 'cambs-peterborough' home but MAIC_HOME_LRF is 'norfolk': write a file for 'norfolk' "
            "with `maic reference init --lrf norfolk`") in caught.value.message


def test_a_file_that_marks_no_home_takes_the_setting(factory):
    data = _norfolk()
    del data["lrfs"][0]["home"]
    assert check_reference(data, home_lrf="kent") == ["lrfs: MAIC_HOME_LRF is 'kent', which the file does not list"]
    with transaction(factory) as session:
        load_reference(session, data, home_lrf="norfolk")
    with factory() as session:
        assert session.scalars(sa.select(LRF.code).where(LRF.is_home.is_(True))).all() == ["norfolk"]


def test_the_app_will_not_start_on_another_lrfs_data(db_url, data_dir):
    from app import create_app

    settings = {"TESTING": True, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir),
                "MAIC_SECRET_KEY": "test-secret-key-not-for-production"}
    with pytest.raises(MaicError) as caught:
        create_app({**settings, "MAIC_HOME_LRF": "norfolk"})
    assert caught.value.message.startswith("MAIC_HOME_LRF is 'norfolk' but the database's reference data makes "
                                           "'cambs-peterborough' (Cambridgeshire & Peterborough LRF) home")
    app = create_app({**settings, "MAIC_HOME_LRF": "cambs-peterborough"})
    app.extensions["maic.db"]["engine"].dispose()


def test_a_bad_yaml_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("incident:\n  name: x\n lrfs: [\n", encoding="utf-8")
    with pytest.raises(MaicError) as caught:
        read_reference(path)
    assert caught.value.message.startswith(f"{path} is not valid YAML at line 3")
    assert yaml  # the file is read with yaml.safe_load


def test_the_demo_on_another_lrfs_instance_is_refused_with_a_message(tmp_path):
    from click.testing import CliRunner

    from maic.cli import main

    env = {"MAIC_DATA_DIR": str(tmp_path / "data"), "MAIC_DATABASE_URL": f"sqlite:///{tmp_path / 'maic.db'}",
           "MAIC_REFERENCE_FILE": str(tmp_path / "norfolk.yaml"), "MAIC_HOME_LRF": "norfolk"}
    (tmp_path / "norfolk.yaml").write_text(render(_norfolk(), file_name="norfolk.yaml"), encoding="utf-8")
    runner = CliRunner()
    for command in (["db", "upgrade"], ["reference", "load"]):
        assert runner.invoke(main, command, env=env).exit_code == 0
    result = runner.invoke(main, ["demo", "seed"], env=env)
    assert result.exit_code == 1
    assert ("error: the demo is made for the bundled reference file (Cambridgeshire & Peterborough); with this "
            "instance's reference data: there is no agency 'cambridge-housing'") in result.output


def test_init_writes_the_file_says_what_is_in_it_and_never_overwrites_unasked(tmp_path):
    from click.testing import CliRunner

    from maic.cli import main

    target = tmp_path / "reference-norfolk.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["reference", "init", "--lrf", "norfolk", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {target}: Norfolk LRF with 7 districts (Breckland, Broadland, ")
    assert "; 14 agencies; neighbours: cambs-peterborough, suffolk, lincolnshire" in result.output
    assert read_reference(target)["lrfs"][0]["code"] == "norfolk"
    again = runner.invoke(main, ["reference", "init", "--lrf", "norfolk", "-o", str(target)])
    assert again.exit_code == 1 and f"error: {target} exists; choose another --output or add --force" in again.output
    forced = runner.invoke(main, ["reference", "init", "--lrf", "norfolk", "--neighbours", "none", "-o", str(target),
                                  "--force"])
    assert forced.exit_code == 0 and "neighbours: none" in forced.output
    assert [lrf["code"] for lrf in read_reference(target)["lrfs"]] == ["norfolk"]


def test_a_relation_between_metrics_that_cannot_add_up_is_refused(factory):
    data = _norfolk()
    data["metric_relations"] = [*data["metric_relations"],
                                {"name": "odd", "total": "releases_total", "parts": ["households_in_ta"], "rest": "x"},
                                {"name": "ghost", "total": "releases_total", "parts": ["nobody"], "rest": "x"}]
    with pytest.raises(ReferenceInvalid) as caught, transaction(factory) as session:
        load_reference(session, data)
    assert "metric_relations[3] (odd): its metrics differ in unit or aggregation" in caught.value.message
    assert "metric_relations[4] (ghost): no metric nobody" in caught.value.message


def test_the_linked_totals_are_loaded_and_a_relation_no_longer_listed_goes(factory):
    from maic.models import MetricRelation

    with factory() as session:
        loaded = {r.name: (r.total_key, r.part_keys) for r in session.scalars(sa.select(MetricRelation))}
    assert loaded == {"releases_by_tranche": ("releases_total", ["releases_tranche1", "releases_tranche2"]),
                      "releases_nfa": ("releases_total", ["releases_nfa"])}
    data = read_reference()
    data["metric_relations"] = data["metric_relations"][:1]
    with transaction(factory) as session:
        load_reference(session, data)
    with factory() as session:
        assert session.scalars(sa.select(MetricRelation.name)).all() == ["releases_by_tranche"]
