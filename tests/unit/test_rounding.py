"""The one rounding rule: half up, exact on decimals that binary floats cannot hold."""

from __future__ import annotations

from fractions import Fraction

from maic.disclosure import Relation, Status, protect
from maic.rounding import fixed, percent, percent_text, round_half_up, whole


def test_halves_round_up_where_round_would_go_to_even():
    assert (percent(5, 8), percent(1, 8), percent(1, 3), percent(0, 5), percent(3, 0)) == (63, 13, 33, 0, None)
    assert (round(62.5), round(12.5)) == (62, 12)  # what the figures showed before
    assert (percent_text(0.625), percent_text(0.125), percent_text(Fraction(13, 90)), percent_text(None)) == (
        "63%", "13%", "14%", "")
    assert (whole(8.5), whole(Fraction(60 * 13, 90)), whole(Fraction(14 * 13, 90)), whole(0.49)) == (9, 9, 2, 0)
    assert (round_half_up(0.125, 2), round_half_up(2.675, 2), round_half_up(0.25, 1)) == (0.13, 2.68, 0.3)
    assert (fixed(0.125, 2), fixed(2.675, 2), fixed(1234.5, 0), fixed(2, 2)) == ("0.13", "2.68", "1,235", "2.00")


def test_a_complement_is_never_a_zero_while_a_cell_of_at_least_the_threshold_can_be_withheld():
    # total 13 = 3 (small) + 0 + 10: the complement is the 10, the zero stays published.
    cells = protect({"t": 13, "a": 3, "b": 0, "c": 10}, [Relation("t", ("a", "b", "c"))], 5)
    assert {k: c.status for k, c in cells.items()} == {
        "t": Status.VALUE, "a": Status.PRIMARY, "b": Status.VALUE, "c": Status.SECONDARY}
    assert cells["b"].shown == "0"
