"""The weighing of evidence on hand-made hard cases, the tie counting, and a small synthetic world."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest

from bench.world import measure, small_world
from pyscript_app import scoring
from pyscript_app.corroboration import affordable, calls_needed, count_ties, neighbourhood_ties
from pyscript_app.matching import Match, Matcher, Settings
from pyscript_app.scoring import Candidate, Ties, bio_evidence, handle_evidence, handle_stems, level, weigh_all


def in_a_thread(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop on the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def candidate(handle: str, name: str = "", bio: str = "", did: str = "", **flags: object) -> Candidate:
    return Candidate(did or f"did:plc:{handle}", handle, name, bio, **flags)  # type: ignore[arg-type]


def reasons(found: list) -> dict[str, float]:
    return {e.reason: e.weight for e in found}


# --- handles: digits, hyphens, domains -------------------------------------------------------------


def test_digits_that_differ_are_strong_counter_evidence() -> None:
    assert reasons(handle_evidence("alexblanc51", ["Alex Blanc"], "alexblanc73.bsky.social")) == {"digits_differ": -5.0}
    [alone] = weigh_all("alexblanc51", ["Alex Blanc"], [candidate("alexblanc73.bsky.social", "Alex Blanc")])
    assert level(alone.chance) is None  # the typical error is no longer even shown


def test_same_digits_make_an_exact_handle_stronger_than_a_name_alone() -> None:
    with_digits = reasons(handle_evidence("alexblanc51", ["Alex Blanc"], "alexblanc51.bsky.social"))
    name_only = reasons(handle_evidence("alexblanc", ["Alex Blanc"], "alexblanc.bsky.social"))
    assert with_digits["exact_handle"] > name_only["exact_handle"] + 2


@pytest.mark.parametrize(
    ("x_handle", "bluesky", "expected"),
    [
        ("ann_smith", "ann-smith.bsky.social", "exact_handle"),  # underscores turned into hyphens
        ("ann_smith", "annsmith.bsky.social", "exact_handle"),  # ... or dropped
        ("ann_smith42", "annsmith42.fr", "domain_handle"),  # an own domain made from the X handle
        ("ann_smith42", "ann.smith42.example", "domain_handle"),
        ("ann_smith42", "annsmith.bsky.social", "digits_dropped"),
        ("ann_smith42", "annsmith43.bsky.social", "digits_differ"),
        ("annsmith", "annsmiht.bsky.social", "close_handle"),
        ("annsmith", "zebra.bsky.social", None),
    ],
)
def test_handle_habits(x_handle: str, bluesky: str, expected: str | None) -> None:
    found = handle_evidence(x_handle, ["Ann Smith"], bluesky)
    assert (found[0].reason if found else None) == expected


def test_handle_stems_of_hosted_and_own_domains() -> None:
    assert handle_stems("alex-blanc.bsky.social") == (["alexblanc"], False)
    assert handle_stems("www.alexblanc51.com") == (["alexblanc51"], True)
    assert handle_stems("alex.blanc.fr") == (["alex", "blanc", "alexblanc"], True)


def test_an_own_domain_from_the_x_handle_is_strong() -> None:
    [alone] = weigh_all("kiwi_sparrow18", ["Julie Laurent"], [candidate("kiwisparrow18.net", "Julie Laurent")])
    assert level(alone.chance) in ("high", "medium")


# --- names ----------------------------------------------------------------------------------------


def test_a_name_shared_by_many_candidates_weighs_less() -> None:
    strangers = [candidate(f"user{i}.bsky.social", "Alex Blanc", found_by_name=True) for i in range(6)]
    ranked = weigh_all("zzz_alex", ["Alex Blanc"], strangers)
    assert all(level(c.chance) in (None, "low") for c in ranked)
    assert (
        reasons(ranked[0].evidence)["same_name"]
        < reasons(weigh_all("zzz_alex", ["Alex Blanc"], strangers[:1])[0].evidence)["same_name"]
    )


def test_a_same_name_match_found_only_by_search_is_weak() -> None:
    [alone] = weigh_all(
        "cometcoffee", ["Alex Blanc"], [candidate("ablanc.bsky.social", "Alex Blanc", found_by_name=True)]
    )
    assert level(alone.chance) == "low"


def test_another_first_name_weighs_against() -> None:
    [alone] = weigh_all("lvincent", ["Laura Vincent"], [candidate("lvincent.bsky.social", "Lucas V.")])
    assert reasons(alone.evidence)["name_differs"] < -1.5 and level(alone.chance) != "high"


def test_a_handle_with_underscores_gives_a_name_when_the_archive_has_none() -> None:
    [alone] = weigh_all("jean_anderson", [], [candidate("jean-kiwi.bsky.social", "Jean Anderson")])
    assert "same_name" in reasons(alone.evidence)


# --- bios in several languages, impersonators, fans ------------------------------------------------


@pytest.mark.parametrize(
    ("bio", "expected"),
    [
        ("Formerly x.com/ann_smith", "bio_links_x"),
        ("twitter.com/@Ann_Smith (archived)", "bio_links_x"),
        ("Anciennement sur X : @ann_smith", "bio_names_x"),
        ("Antes en Twitter: @ann_smith", "bio_names_x"),
        ("Früher auf X: @ann_smith", "bio_names_x"),
        ("Ich bin auch auf 𝕏: @ann_smith", "bio_names_x"),
        ("元Twitter @ann_smith", "bio_names_x"),
        ("Big fan of @ann_smith", "fan_or_parody"),
        ("Parodie de @ann_smith sur X", "fan_or_parody"),
        ("Friends with @ann_smith", "bio_mentions_handle"),
        ("Formerly x.com/ann_smith2", None),
        ("email: me@ann_smith.example", None),
    ],
)
def test_bios_naming_the_x_handle(bio: str, expected: str | None) -> None:
    found = bio_evidence("ann_smith", bio)
    assert (found[0].reason if found else None) == expected


def test_labelled_impersonators_are_never_proposed_and_lookalikes_lose_to_the_exact_handle() -> None:
    real = candidate("ann-smith42.bsky.social", "Ann Smith")
    labelled = candidate("ann-smith42-official.bsky.social", "Ann Smith", labels={"impersonation"})
    copycat = candidate("ann-smith42-real.bsky.social", "Ann Smith", "Formerly x.com/ann_smith42")
    ranked = weigh_all("ann_smith42", ["Ann Smith"], [real, labelled, copycat])
    assert labelled not in ranked
    assert "lookalike" in reasons(copycat.evidence)
    assert level(copycat.chance) != "high" and level(real.chance) != "high"  # two remain: the person picks
    assert scoring.is_choice(ranked)


def test_a_warning_label_weighs_against() -> None:
    [alone] = weigh_all(
        "ann_smith42", ["Ann Smith"], [candidate("annsmith42.bsky.social", "Ann Smith", labels={"spam"})]
    )
    assert reasons(alone.evidence)["labelled"] < 0


# --- ties -----------------------------------------------------------------------------------------


def test_ties_to_confirmed_contacts_raise_a_common_name_to_high() -> None:
    stranger = candidate("alexblanc.bsky.social", "Alex Blanc")
    [alone] = weigh_all("alexblanc", ["Alex Blanc"], [stranger])
    assert level(alone.chance) == "low"
    [tied] = weigh_all("alexblanc", ["Alex Blanc"], [stranger], {stranger.did: Ties(3.0, 3)})
    assert level(tied.chance) == "high" and reasons(tied.evidence)["ties"] > 0


def test_ties_alone_cannot_make_a_match() -> None:
    friend = candidate("pepper.bsky.social", "Lumen Orbit", found_by_name=True)
    [alone] = weigh_all("inesmartin39", ["Orbit"], [friend], {friend.did: Ties(5.0, 5)})
    assert level(alone.chance) in (None, "low")


def test_other_digits_tied_to_the_circle_are_shown_to_look_at_never_preselected() -> None:
    """X sunnyfox16 "Sophie Colombo"; sunnyfox1982.bsky.social "Sophie Colombo" follows four of the
    person's contacts. Other digits mostly mean a namesake or an imitator, people the contacts rarely
    follow: tied to them, the doubt weighs a third, enough to show it ("low"), never to pre-select it."""
    account = candidate("sunnyfox1982.bsky.social", "Sophie Colombo", did="did:plc:sf")
    [untied] = weigh_all("sunnyfox16", ["Sophie Colombo"], [account])
    assert reasons(untied.evidence)["digits_differ"] == -5.0 and scoring.candidate_level(untied) is None
    ties = {"did:plc:sf": Ties(contacts=4, contact_count=4, log_odds=2.5)}
    [tied] = weigh_all("sunnyfox16", ["Sophie Colombo"], [account], ties)
    assert reasons(tied.evidence)["digits_differ"] == pytest.approx(-5.0 * scoring.TIED_HANDLE_DOUBT)
    assert scoring.candidate_level(tied) == "low"


def test_other_digits_are_worth_asking_about_ties_since_ties_would_soften_them() -> None:
    """sunnyfox1982 "Sophie Colombo" for X sunnyfox16 scores -2.6 untied, hopeless by its score; tied,
    it would be shown. So its ties are asked for; a stranger with another name is not."""
    account = candidate("sunnyfox1982.bsky.social", "Sophie Colombo", did="did:plc:sf")
    other = candidate("sunnyfox20.bsky.social", "Marc Dupont", did="did:plc:md")
    ranked = weigh_all("sunnyfox16", ["Sophie Colombo"], [account, other])
    assert account.score < -2.0 and scoring.hopeful_score(account) > -2.0
    assert scoring.worth_corroborating(ranked) == [account]


def test_a_tie_below_what_strangers_have_leaves_the_handle_doubt_whole() -> None:
    account = candidate("sunnyfox1982.bsky.social", "Sophie Colombo", did="did:plc:sf")
    ties = {"did:plc:sf": Ties(contacts=1, contact_count=1, log_odds=-1.5)}
    [weak] = weigh_all("sunnyfox16", ["Sophie Colombo"], [account], ties)
    assert reasons(weak.evidence)["digits_differ"] == -5.0 and scoring.candidate_level(weak) is None


def test_a_namesake_in_the_circle_beats_an_untied_holder_of_the_exact_handle_but_is_not_preselected() -> None:
    """X jamesbernard: jamesbernard.bsky.social (no ties) and jbernard.bsky.social, both "James
    Bernard", the latter tied to five contacts. The exact handle no longer buries the tied account,
    and neither is pre-selected."""
    exact = candidate("james-bernard.bsky.social", "James Bernard", did="did:plc:exact")
    tied = candidate("jbernard.bsky.social", "James Bernard", did="did:plc:tied", found_by_name=True)
    ties = {
        "did:plc:exact": Ties(contacts=0, contact_count=0, log_odds=-1.5),
        "did:plc:tied": Ties(contacts=5, contact_count=5, log_odds=4.0),
    }
    ranked = weigh_all("jamesbernard", ["James Bernard"], [exact, tied], ties)
    assert ranked[0] is tied and reasons(tied.evidence)["lookalike"] == pytest.approx(-2.5 * scoring.TIED_HANDLE_DOUBT)
    assert {scoring.candidate_level(c) for c in ranked} <= {"low", None}
    assert scoring.candidate_level(tied) == "low"


def test_an_exact_handle_that_nobody_the_person_knows_is_tied_to_is_medium_not_high() -> None:
    """X alexmartin25 "Alex Martin": another Alex Martin, with no X account of that name, took
    alexmartin25.bsky.social (the digits 1 to 99 are few). The handle and the name say "high"; that
    none of the person's contacts follows or is followed by the account says "look twice": medium,
    still pre-selected. Tied to them, it stays high."""
    holder = candidate("alexmartin25.bsky.social", "Alex Martin", did="did:plc:am")
    [unasked] = weigh_all("alexmartin25", ["Alex Martin"], [holder])
    assert scoring.candidate_level(unasked) == "high"
    [untied] = weigh_all("alexmartin25", ["Alex Martin"], [holder], {"did:plc:am": Ties(log_odds=-4.0)})
    assert reasons(untied.evidence)["no_ties"] == scoring.NO_TIES_FLOOR
    assert scoring.candidate_level(untied) == "medium"
    tied = {"did:plc:am": Ties(contacts=5, contact_count=5, log_odds=4.0)}
    [confirmed] = weigh_all("alexmartin25", ["Alex Martin"], [holder], tied)
    assert scoring.candidate_level(confirmed) == "high"


def test_a_name_read_from_a_handle_holds_in_either_order() -> None:
    assert scoring.names_for("bernard_anna768", []) == ["bernard anna", "anna bernard"]
    assert scoring.names_for("bernard_anna768", ["Anna B."]) == ["Anna B."]  # the archive's own name wins
    assert scoring.names_for("de_la_cruz", []) == ["de la cruz"]
    [account] = weigh_all("bernard_anna768", [], [candidate("bernardanna.bsky.social", "Anna Bernard")])
    assert "same_name" in reasons(account.evidence)


def test_count_ties_rechecks_accounts_matched_on_their_handle_against_the_other_anchors() -> None:
    """A small run asks getRelationships: after the candidates, each account matched on its handle
    alone is asked about the other anchors (one call each, within the budget); one tied to none of
    them comes back medium."""
    circle = [f"a{i}" for i in range(1, 6)]
    follows = {a: {b for b in circle if b != a} for a in circle} | {"c1": {"a1"}}
    calls: list[tuple[str, list[str]]] = []

    async def relationships(actor: str, others: list[str]) -> dict[str, tuple[bool, bool]]:
        calls.append((actor, others))
        return {o: (o in follows.get(actor, ()), actor in follows.get(o, ())) for o in others}

    anchors = [*circle, "holder"]
    ties = in_a_thread(count_ties(relationships, ["c1"], anchors, budget=3, recheck=["holder", "a1", "a2"]))
    assert ties["c1"].contact_count == 1
    assert ties["holder"].contact_count == 0 and ties["holder"].asked_contacts
    assert ties["a1"].contact_count == 4 and "a2" not in ties  # the budget: 1 call for c1, 2 rechecks
    assert ("holder", circle) in calls and len(calls) == 3
    holder = candidate("alexmartin25.bsky.social", "Alex Martin", did="holder")
    [untied] = weigh_all("alexmartin25", ["Alex Martin"], [holder], ties)
    assert reasons(untied.evidence)["no_ties"] < 0 and scoring.candidate_level(untied) == "medium"
    calls.clear()
    few = in_a_thread(count_ties(relationships, [], ["a1", "holder"], budget=5, recheck=["holder"]))
    assert few == {} and calls == []  # one other anchor: being tied to none of them says little


def test_the_anchors_neighbourhoods_tell_their_ties_to_each_other_too() -> None:
    """Six confirmed accounts: five in one circle, one (a namesake who took a contact's handle) tied
    to none. Their pages of follows and followers, asked for the candidates anyway, also say so; an
    account met there is kept even when it is already another contact's candidate."""
    circle = [f"did:plc:a{i}" for i in range(1, 6)]
    lonely = "did:plc:a6"
    follows: dict[str, set[str]] = {a: {b for b in circle if b != a} | {"did:plc:both"} for a in circle}
    follows[lonely] = {"did:plc:s1"}
    follows["did:plc:s2"] = {lonely}

    class Seen:
        def __init__(self, did: str) -> None:
            self.did = did

    async def neighbours(actor: str, direction: str, cursor: str) -> tuple[list[Seen], str]:
        if direction == "follows":
            return [Seen(d) for d in sorted(follows.get(actor, ()))], ""
        return [Seen(d) for d, theirs in sorted(follows.items()) if actor in theirs], ""

    candidates = ["did:plc:both", "did:plc:c2", "did:plc:c3"]
    found = in_a_thread(neighbourhood_ties(neighbours, candidates, [*circle, lonely], budget=40))
    assert found.ties[lonely].contact_count == 0 and (found.ties[lonely].log_odds or 0.0) < 0
    assert found.ties["did:plc:a1"].contact_count == 4 and (found.ties["did:plc:a1"].log_odds or 0.0) > 0
    assert found.ties["did:plc:both"].contact_count == 5
    assert "did:plc:both" in found.met  # a candidate already: kept for the contacts not yet found
    assert found.ties["did:plc:s1"].contact_count == 1  # met through the lonely anchor


def test_calls_needed_picks_the_cheaper_direction() -> None:
    assert calls_needed(100, 30, False) == 100  # one call per candidate, 30 anchors each
    assert calls_needed(100, 5, False) == 20  # one call per anchor and 30 candidates
    assert calls_needed(100, 5, True) == 24  # plus the person's own account, 30 candidates a call
    assert affordable(100, 30, False, 40) == 40 and affordable(10, 0, True, 0) == 0


def test_count_ties_asks_within_the_budget_and_discounts_popular_anchors() -> None:
    follows = {
        "c1": {"a1", "a2"},
        "a3": {"c1"},
        "me": {"c2"},
        **{f"c{i}": {"famous"} for i in range(1, 11)},
    }
    follows["c1"] |= {"a1", "a2", "famous"}
    calls: list[tuple[str, list[str]]] = []

    async def relationships(actor: str, others: list[str]) -> dict[str, tuple[bool, bool]]:
        calls.append((actor, others))
        return {o: (o in follows.get(actor, ()), actor in follows.get(o, ())) for o in others}

    candidates = [f"c{i}" for i in range(1, 11)]
    ties = in_a_thread(count_ties(relationships, candidates, ["a1", "a2", "a3", "famous"], "me", budget=50))
    assert ties["c1"].contact_count == 4 and ties["c1"].contacts == pytest.approx(3.3)  # "famous" counts 0.3
    assert ties["c2"].with_self and not ties["c3"].with_self
    assert len(calls) == calls_needed(10, 4, True) == 5
    assert all(len(others) <= 30 for _, others in calls)
    calls.clear()
    few = in_a_thread(count_ties(relationships, candidates, ["a1"], "", budget=0))
    assert few == {} and calls == []


# --- a small synthetic world, end to end --------------------------------------------------------------


def test_small_world_defaults_are_safe_to_follow() -> None:
    """Three small seeded worlds (bench/world.py at a twentieth of the size), pooled."""
    from bench.match_quality import STAGES, miss_causes, right_suggested, run_matcher

    selected = right = high = wrong_high = findable = found = 0
    for seed in (11, 12, 13):
        world = small_world(seed)
        with concurrent.futures.ThreadPoolExecutor(1) as thread:  # Playwright keeps a loop on this one
            report, _, matcher = thread.submit(run_matcher, world, False).result()
        quality = measure(world, [m.to_json() for m in report.matches])
        causes = miss_causes(world, matcher, right_suggested(world, report))
        assert sum(causes.values()) == quality.findable - quality.found_any  # every miss has one cause
        assert {stage for _, stage in causes} <= set(STAGES)
        selected, right = selected + quality.default_selected[0], right + quality.default_selected[1]
        high, wrong_high = (
            high + quality.levels["high"][0],
            wrong_high + quality.levels["high"][0] - quality.levels["high"][1],
        )
        findable, found = findable + quality.findable, found + quality.found_any
        named = sum(1 for x_id in world.contacts() if x_id in world.named)
        assert report.stats["appview_requests"] <= 2 * named + 8
    assert high > 20 and wrong_high == 0
    assert selected > 30 and right / selected >= 0.93
    assert found / findable >= 0.65


def test_the_time_estimate_and_the_self_setting() -> None:
    from pyscript_app.matching import Settings, estimate_seconds

    assert estimate_seconds(100) < 60 < estimate_seconds(400)  # the page says so above a minute
    assert Settings.from_json({"self_did": "did:plc:abc"}).self_did == "did:plc:abc"
    assert Settings.from_json({"self_did": "alice.bsky.social"}).self_did == ""
    assert Settings.from_json({"self_did": "did:plc:\n"}).self_did == ""


def test_a_handle_that_is_a_name_counts_when_the_archive_gives_no_name() -> None:
    [alone] = weigh_all("jeananderson", [], [candidate("jean-kiwi.bsky.social", "Jean Anderson")])
    assert reasons(alone.evidence) == {"handle_is_name": 1.5}
    [named] = weigh_all("jeananderson", ["Jean Anderson"], [candidate("jean-kiwi.bsky.social", "Jean Anderson")])
    assert "handle_is_name" not in reasons(named.evidence)


# --- one account, several contacts ------------------------------------------------------------------


def test_an_account_is_one_person_so_its_chances_are_shared() -> None:
    assert scoring.shared_chances([0.9, 0.7]) == pytest.approx([0.7297, 0.1892], abs=1e-4)
    assert scoring.shared_chances([0.995, 0.13]) == pytest.approx([0.9943, 0.0007], abs=1e-4)
    assert scoring.shared_chances([0.3, 0.26]) == pytest.approx([0.2408, 0.1974], abs=1e-4)  # both may be wrong
    assert scoring.shared_chances([0.8]) == pytest.approx([0.8])  # alone, nothing changes
    assert scoring.shared_chances([1.0, 1.0]) == pytest.approx([0.5, 0.5])


def _proposal(x_id: str, chance: float, confidence: str, weight: float) -> Match:
    match = Match(x_id, f"x{x_id}", "bluesky", "marierobert.bsky.social", "low", [], "following", did="did:plc:mr")
    match.confidence, match.chance = confidence, chance  # type: ignore[assignment]
    match.evidence = [{"reason": "exact_handle", "weight": weight}, {"reason": "ties", "weight": 2.0, "count": 2}]
    return match


def _matcher_with(*proposals: Match) -> Matcher:
    matcher = Matcher(Settings("http://127.0.0.1:9"))
    matcher.found = {m.key: m for m in proposals}
    matcher._one_contact_per_account()
    return matcher


def test_an_account_likely_for_two_contacts_stays_with_both_and_neither_is_preselected() -> None:
    """X marierobert1998 (0.90, medium) and X marierobert (0.68) both point at marierobert.bsky.social:
    it used to stay with the likelier alone, pre-selected, and it was the other one's."""
    matcher = _matcher_with(_proposal("1", 0.9046, "medium", 3.0), _proposal("2", 0.676, "low", 3.0))
    kept = sorted(matcher.found.values(), key=lambda m: m.x_id)
    assert [(m.x_id, m.confidence) for m in kept] == [("1", "low"), ("2", "low")]
    assert [m.chance for m in kept] == pytest.approx([0.7544, 0.166], abs=1e-4)
    assert all(m.reasons[-1] == "several_contacts" and m.evidence[-1]["count"] == 2 for m in kept)


def test_two_weak_proposals_of_one_account_are_both_kept_as_they_were() -> None:
    matcher = _matcher_with(_proposal("1", 0.283, "low", 1.0), _proposal("2", 0.264, "low", 1.0))
    assert sorted((m.x_id, m.confidence) for m in matcher.found.values()) == [("1", "low"), ("2", "low")]


def test_a_share_too_small_to_show_is_dropped_and_a_sure_one_keeps_its_level() -> None:
    matcher = _matcher_with(_proposal("1", 0.995, "high", 5.0), _proposal("2", 0.13, "low", 1.0))
    [kept] = matcher.found.values()
    assert kept.x_id == "1" and kept.confidence == "high" and "several_contacts" not in kept.reasons
    matcher = _matcher_with(_proposal("1", 0.95, "medium", 5.0), _proposal("2", 0.5, "low", 1.0))
    [kept] = matcher.found.values()  # 0.905 and 0.048: the second is too unlikely to show
    assert (kept.x_id, kept.confidence, kept.chance) == ("1", "medium", 0.9048)
    matcher = _matcher_with(_proposal("1", 0.95, "medium", 5.0), _proposal("2", 0.7, "low", 1.0))
    assert {m.confidence for m in matcher.found.values()} == {"low"}  # 0.85, 0.10: not pre-selected


def test_ties_alone_cannot_lift_a_shared_account_above_its_level() -> None:
    """The level after sharing is never higher than before, whatever the share."""
    matcher = _matcher_with(_proposal("1", 0.95, "low", 0.5), _proposal("2", 0.01, "low", 0.5))
    assert {m.confidence for m in matcher.found.values()} == {"low"}


def test_ties_make_a_same_name_account_likely_but_not_sure_to_be_this_contact() -> None:
    """X smartin "Sarah Martin 🌍" and smartin.bsky.social "Sarah Martin", tied to six of the person's
    contacts: ties say "someone in the person's circles", and another Sarah Martin in those circles
    (a contact the archive never names) would have them too. Pre-selected, never "high"."""
    ties = {"did:plc:sm": Ties(contacts=6, contact_count=6, log_odds=6.0)}
    [name_like] = weigh_all(
        "smartin", ["Sarah Martin 🌍"], [candidate("smartin.bsky.social", "Sarah Martin", did="did:plc:sm")], ties
    )
    assert name_like.chance >= scoring.P_HIGH and scoring.candidate_level(name_like) == "medium"
    [own_digits] = weigh_all(
        "smartin77", ["Sarah Martin"], [candidate("smartin77.bsky.social", "Sarah Martin", did="did:plc:sm")], ties
    )
    assert scoring.candidate_level(own_digits) == "high"  # a handle with the person's own digits says who
