"""Which connections may carry a message and in which order: prefixes, senders, specificity, weights. Pure."""

from __future__ import annotations

from collections import Counter
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from smsgrid.carrier.smpp.routing import RouteEntry, candidates, matching, route_specificity
from smsgrid.carrier.smpp.settings import Route

UK = RouteEntry("uk", (Route(to_prefix="+44"),))
LONDON = RouteEntry("london", (Route(to_prefix="+4420"),))
BRAND = RouteEntry("brand", (Route(sender="CONTOSO"),))
ANY = RouteEntry("any", ())


def first_draw() -> float:
    return 0.5


def test_a_route_matches_its_prefix_and_sender() -> None:
    assert route_specificity(Route(to_prefix="+44"), "+447700900123", "X") == 3
    assert route_specificity(Route(to_prefix="+44"), "+14255550123", "X") is None
    assert route_specificity(Route(sender="CONTOSO"), "+14255550123", "CONTOSO") == 100
    assert route_specificity(Route(sender="CONTOSO"), "+14255550123", "OTHER") is None
    assert route_specificity(Route(to_prefix="+1", sender="CONTOSO"), "+14255550123", "CONTOSO") == 102
    assert route_specificity(Route(), "+14255550123", "X") == 0


def test_the_most_specific_connection_comes_first_and_the_catch_all_last() -> None:
    entries = (ANY, UK, LONDON, BRAND)
    assert candidates(entries, "+442071234567", "+18005550100", first_draw) == ("london", "uk", "any")
    assert candidates(entries, "+447700900123", "+18005550100", first_draw) == ("uk", "any")
    assert candidates(entries, "+447700900123", "CONTOSO", first_draw) == ("brand", "uk", "any")
    assert candidates((UK, BRAND), "+14255550123", "+18005550100", first_draw) == ()


def test_the_accept_time_screen_knows_no_sender_so_a_sender_route_matches_any_destination() -> None:
    assert [e.name for e in matching((UK, BRAND), "+14255550123")] == ["brand"]
    assert [e.name for e in matching((UK, BRAND), "+447700900123")] == ["uk", "brand"]
    assert matching((UK,), "+33612345678") == ()


def test_weights_decide_who_comes_first_in_proportion() -> None:
    entries = (RouteEntry("a", (), weight=3), RouteEntry("b", (), weight=1))
    rng = Random(1)
    firsts = Counter(candidates(entries, "+1", "S", rng.random)[0] for _ in range(4000))
    assert 2850 <= firsts["a"] <= 3150  # 3:1 → 3000


def test_weight_zero_is_a_standby_tried_after_every_weighted_one() -> None:
    entries = (RouteEntry("standby", (), weight=0), RouteEntry("main", (), weight=1))
    rng = Random(2)
    assert {candidates(entries, "+1", "S", rng.random) for _ in range(50)} == {("main", "standby")}


@given(
    weights=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=6),
    prefixes=st.lists(st.sampled_from(["", "+1", "+14", "+44"]), min_size=6, max_size=6),
    seed=st.integers(),
)
def test_law_every_match_once_in_non_increasing_specificity(weights: list[int], prefixes: list[str], seed: int) -> None:
    entries = tuple(
        RouteEntry(f"c{i}", (Route(to_prefix=prefixes[i]),) if prefixes[i] else (), weight)
        for i, weight in enumerate(weights)
    )
    order = candidates(entries, "+14255550123", "S", Random(seed).random)
    expected = {e.name for e in entries if not e.routes or "+14255550123".startswith(e.routes[0].to_prefix or "")}
    assert sorted(order) == sorted(expected)
    specificity = {e.name: len(e.routes[0].to_prefix or "") if e.routes else 0 for e in entries}
    ranks = [specificity[name] for name in order]
    assert ranks == sorted(ranks, reverse=True)
