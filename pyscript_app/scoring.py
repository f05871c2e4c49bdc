"""Weighing the evidence that a Bluesky profile is an X contact, and turning it into a calibrated level.

Each piece of evidence is a weight in natural log-odds: positive for, negative against. A
contact's candidates compete with each other and with "none of them" (most X accounts are not
on Bluesky, and the right one may not have been found): the chance that a candidate is the
person is ``exp(score) / (exp(NONE) + sum(exp(score of every candidate)))``. The levels are
thresholds on that chance, measured on ``bench/match_quality.py``'s synthetic worlds:

- high: at least 99 in 100 such suggestions were right;
- medium: at least 9 in 10 were right;
- low: look at it yourself (never pre-selected).

Weights are reasoned, then checked against the benchmark: digits that differ are strong
counter-evidence, a same-name match found only by search is weak (and weaker when many
accounts share the name), a bio naming the X handle is strong, an exact handle on a custom
domain made from the X handle is strong, ties to the person's confirmed contacts are strong; an
account tied to them keeps only part of its handle's doubt (other digits, another account holding
the exact handle): namesakes and imitators are seldom in the person's circles.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .protocol import Confidence, Reason

HIGH: Confidence = "high"
MEDIUM: Confidence = "medium"
LOW: Confidence = "low"

# Thresholds on the chance that a candidate is the person (see bench/match_quality.py).
P_HIGH = 0.99
P_MEDIUM = 0.9
P_SHOWN = 0.12  # below this, the candidate is not shown at all
P_CHOICE = 0.25  # two candidates at least this likely, together most of the chance: ask the person
NONE_SCORE = 2.2  # "none of these candidates": a third of X accounts are on Bluesky at best

CLOSE_HANDLE = 0.92  # Jaro-Winkler threshold, as Sky Follower Bridge uses
HOSTED_SUFFIXES = (".bsky.social",)
GENERIC_LABELS = {"www", "bsky", "social", "me", "at", "blue", "sky"}
TIE_WEIGHT = 1.4
SELF_TIE_WEIGHT = 4.0
TIES_CAP = 4.5
LONE_TIES_CAP = 2.0
IDENTITY_FOR_HIGH = 4.0  # a name-like handle and the same name (3.8) are not enough: another contact may bear them
IDENTITY_FOR_MEDIUM = 2.5
TIE_REASONS = {"ties", "tie_self", "no_ties"}
HANDLE_DOUBTS = {"digits_differ", "lookalike"}  # the handle says "someone else", unless ...
TIED_HANDLE_DOUBT = 0.3  # ... the account is tied to the person's circles: this share of it is kept
NO_TIES_FLOOR = -1.5
IDENTITY_REASONS = {
    "exact_handle",
    "domain_handle",
    "close_handle",
    "same_name",
    "bio_links_x",
    "bio_names_x",
    "domain_is_name",
    "handle_is_name",
}
HIDDEN_LABELS = {"impersonation", "!hide", "!takedown"}
WARNING_LABELS = {"spam", "!warn", "intolerant", "rude"}
DISCLAIMER = re.compile(
    r"\b(?:fan|fans|fanpage|parody|parodie|parodia|parodía|unofficial|inoffiziell|not affiliated|non officiel"
    r"|no oficial|non ufficiale|nicht offiziell)\b",
    re.IGNORECASE,
)
X_WORD = re.compile(r"(?<![a-z0-9])(?:x|twitter|𝕏|tw)(?![a-z0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class Evidence:
    """One reason, its weight in log-odds, and its parameters for the page (``count``)."""

    reason: Reason
    weight: float
    count: int = 0

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"reason": self.reason, "weight": round(self.weight, 2)}
        if self.count:
            data["count"] = self.count
        return data


@dataclass
class Ties:
    """Links on Bluesky between a candidate and the person's confirmed contacts (or the person)."""

    contacts: float = 0.0  # weighted count (ties to very connected accounts count less)
    contact_count: int = 0
    with_self: bool = False
    asked_contacts: bool = True  # False: only the person's own account was asked about
    log_odds: float | None = None  # measured weight of these ties, when the run could measure it


@dataclass
class Context:
    """What the other candidates for the same contact say (filled by :func:`weigh_all`)."""

    same_name_accounts: int = 1  # candidates of this contact bearing exactly the contact's name
    another_has_exact_handle: bool = False
    found_by_name_only: bool = False
    ties: Ties | None = None


def simplify(text: str) -> str:
    """Lower case, no accents, letters and digits only: for comparing names and handles."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def has_symbols(name: str) -> bool:
    """Emoji or other symbols beyond letters, digits, spaces and plain punctuation."""
    return any(not (c.isalnum() or c.isspace() or c in ".-'’,_") for c in name)


def words(text: str) -> set[str]:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c if c.isalnum() and not unicodedata.combining(c) else " " for c in decomposed)
    return {w for w in plain.split() if len(w) >= 3 and not w.isdigit()}


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Similarity of two strings, 1.0 when equal (Winkler's variant of Jaro's distance)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_matched = [False] * len(a)
    b_matched = [False] * len(b)
    matches = 0
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_matched[j] and b[j] == char:
                a_matched[i] = b_matched[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    a_chars = [c for c, m in zip(a, a_matched, strict=True) if m]
    b_chars = [c for c, m in zip(b, b_matched, strict=True) if m]
    transpositions = sum(x != y for x, y in zip(a_chars, b_chars, strict=True)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


def digits_of(text: str) -> str:
    return "".join(re.findall(r"\d", text))


def letters_of(text: str) -> str:
    return re.sub(r"\d", "", text)


def handle_stems(handle: str) -> tuple[list[str], bool]:
    """The parts of a Bluesky handle a person picks, simplified, and whether it is an own domain.

    ``alex-blanc.bsky.social`` -> ``["alexblanc"]``; ``alexblanc51.com`` -> ``["alexblanc51"]``;
    ``alex.blanc.fr`` -> ``["alex", "blanc", "alexblanc"]``.
    """
    handle = handle.lower().rstrip(".")
    for suffix in HOSTED_SUFFIXES:
        if handle.endswith(suffix):
            return [simplify(handle[: -len(suffix)].split(".")[-1])], False
    labels = [label for label in handle.split(".")[:-1] if label not in GENERIC_LABELS]
    stems = [simplify(label) for label in labels]
    if len(stems) > 1:
        stems.append("".join(stems))
    return [stem for stem in stems if stem], True


def name_forms(names: Iterable[str]) -> set[str]:
    """Handles anyone with these names might take: alexblanc, blancalex, ablanc, alexb."""
    forms = set()
    for name in names:
        parts = [simplify(part) for part in name.split() if simplify(part)]
        if not parts:
            continue
        forms.add("".join(parts))
        if len(parts) >= 2:
            first, last = parts[0], parts[-1]
            forms.update({last + first, first[0] + last, first + last[0], last + first[0]})
    return forms


def handle_evidence(x_handle: str, names: Iterable[str], profile_handle: str, display_name: str = "") -> list[Evidence]:
    """How the Bluesky handle compares with the X handle: exact, on an own domain, close, digits.

    A handle made of a name (the contact's, or the account's own) is one many people want.
    """
    wanted = simplify(x_handle)
    stems, own_domain = handle_stems(profile_handle)
    if not wanted or not stems:
        return []
    name_like = letters_of(wanted) in name_forms([*names, display_name])
    if wanted in stems:
        weight = 3.2 if own_domain else 2.6
        if digits_of(wanted):
            weight += 2.2  # alexblanc51: the digits are the person's own
        elif name_like:
            weight -= 1.2  # alexblanc: every Alex Blanc wants it
        if len(wanted) <= 5:
            weight -= 1.0
        return [Evidence("domain_handle" if own_domain else "exact_handle", weight)]
    best = max(stems, key=lambda stem: jaro_winkler(wanted, stem))
    ours, theirs = digits_of(wanted), digits_of(best)
    if ours and theirs and ours != theirs and letters_of(wanted) == letters_of(best):
        return [Evidence("digits_differ", -5.0)]
    if ours and theirs and ours != theirs:
        return [Evidence("digits_differ", -3.5)] if jaro_winkler(wanted, best) >= 0.8 else []
    if letters_of(wanted) == letters_of(best):
        return [Evidence("digits_dropped", 0.6)]
    if jaro_winkler(wanted, best) >= CLOSE_HANDLE:
        return [Evidence("close_handle", 0.9)]
    return []


def name_evidence(names: Sequence[str], display_name: str, context: Context) -> list[Evidence]:
    """Same display name (weaker when several candidates share it), partly the same, or different."""
    theirs = simplify(display_name)
    ours = {simplify(name) for name in names if simplify(name)}
    if not theirs or not ours:
        return []
    if theirs in ours:
        weight = 2.4 - math.log(max(context.same_name_accounts, 1))
        if any(display_name.strip() == name.strip() and has_symbols(name) for name in names):
            weight += 1.0  # the very same name with its emoji or punctuation: copied from X
        if len(theirs) < 5:
            weight -= 1.0
        if context.found_by_name_only:
            weight -= 0.6
        return [Evidence("same_name", max(weight, 0.2), context.same_name_accounts)]
    ours_words = [sorted(words(name), key=name.casefold().find) for name in names]
    shared = set().union(*(set(w) for w in ours_words)) & words(display_name)
    if shared:
        return [Evidence("similar_name", 0.5)]
    theirs_first = display_name.casefold().split()[:1]
    if theirs_first and any(w and simplify(theirs_first[0]) != w[0] and len(theirs_first[0]) >= 3 for w in ours_words):
        return [Evidence("name_differs", -1.8)]  # another first name: rarely the same person
    return [Evidence("name_differs", -1.0)]


def bio_evidence(x_handle: str, bio: str, display_name: str = "") -> list[Evidence]:
    """A bio linking or naming the X account, in any language ("sur X : @alex", "ex-Twitter @alex");
    a fan, parody or unofficial account says so, and that weighs against."""
    if DISCLAIMER.search(bio) or DISCLAIMER.search(display_name):
        return [Evidence("fan_or_parody", -7.0)]
    if not bio or not x_handle:
        return []
    handle = re.escape(x_handle.lower())
    text = bio.lower()
    if re.search(rf"(?:^|[^a-z0-9_])(?:x|twitter)\.com/@?{handle}(?![a-z0-9_])", text):
        return [Evidence("bio_links_x", 5.5)]
    if re.search(rf"(?:^|[^a-z0-9_@]){'@'}{handle}(?![a-z0-9_])", text):
        if X_WORD.search(text):
            return [Evidence("bio_names_x", 5.0)]
        return [Evidence("bio_mentions_handle", 1.5)]
    return []


def tie_evidence(ties: Ties | None) -> list[Evidence]:
    if ties is None:
        return []
    found = []
    if ties.with_self:
        found.append(Evidence("tie_self", SELF_TIE_WEIGHT))
    if ties.log_odds is not None:
        weight = max(min(ties.log_odds, TIES_CAP), NO_TIES_FLOOR)
        if ties.contact_count:
            found.append(Evidence("ties", weight, ties.contact_count))
        elif not ties.with_self:
            found.append(Evidence("no_ties", weight))
    elif ties.contact_count:
        found.append(Evidence("ties", min(ties.contacts * TIE_WEIGHT, TIES_CAP), ties.contact_count))
    elif not ties.with_self and ties.asked_contacts:
        found.append(Evidence("no_ties", -0.6))
    return found


def label_evidence(labels: set[str]) -> list[Evidence]:
    return [Evidence("labelled", -2.5)] if labels & WARNING_LABELS else []


@dataclass
class Candidate:
    """One Bluesky profile proposed for one X contact, and how it was found."""

    did: str
    handle: str
    display_name: str
    description: str
    labels: set[str] = field(default_factory=set)
    found_by_handle: bool = False  # exact candidate handle, or a search by the X handle
    found_by_name: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    chance: float = 0.0

    @property
    def score(self) -> float:
        return sum(e.weight for e in self.evidence)

    @property
    def hidden(self) -> bool:
        return bool(self.labels & HIDDEN_LABELS) or self.handle == "handle.invalid"


def weigh(x_handle: str, names: Sequence[str], candidate: Candidate, context: Context) -> list[Evidence]:
    """Every piece of evidence about one candidate."""
    found: list[Evidence] = []
    found += bio_evidence(x_handle, candidate.description, candidate.display_name)
    handle = handle_evidence(x_handle, names, candidate.handle, candidate.display_name)
    found += handle
    if context.another_has_exact_handle and not any(e.reason in ("exact_handle", "domain_handle") for e in handle):
        found.append(Evidence("lookalike", -2.5))
    found += name_evidence(names, candidate.display_name, context)
    handle_letters = letters_of(simplify(x_handle))
    if not names and len(handle_letters) >= 6 and handle_letters == simplify(candidate.display_name):
        found.append(Evidence("handle_is_name", 1.5))  # X handle "jeananderson", name "Jean Anderson"
    stems, own_domain = handle_stems(candidate.handle)
    if own_domain and not handle and any(simplify(name) in stems for name in names if len(simplify(name)) >= 6):
        found.append(Evidence("domain_is_name", 1.5))
    if candidate.found_by_name and not candidate.found_by_handle:
        found.append(Evidence("found_by_name", 0.0))
    found += label_evidence(candidate.labels)
    ties = tie_evidence(context.ties)
    if not any(e.reason in IDENTITY_REASONS and e.weight >= 1.0 for e in found):
        # Ties say "someone in the person's circles", not who: alone, they cannot make a match.
        ties = [Evidence(e.reason, min(e.weight, LONE_TIES_CAP), e.count) for e in ties]
    if is_tied(ties):
        found = soften_handle_doubt(found)
    return found + ties


def is_tied(evidence: Iterable[Evidence]) -> bool:
    """Linked to the person's circles, or to the person, more than a stranger would be."""
    return any(e.reason in ("ties", "tie_self") and e.weight > 0 for e in evidence)


def soften_handle_doubt(evidence: list[Evidence]) -> list[Evidence]:
    """Other digits, or another account holding the exact handle, mostly say "a namesake or an
    imitator": people the person's contacts rarely follow. Tied to those contacts, the account is
    seldom one of them, and that doubt keeps only ``TIED_HANDLE_DOUBT`` of its weight."""
    return [
        Evidence(e.reason, e.weight * TIED_HANDLE_DOUBT, e.count) if e.reason in HANDLE_DOUBTS else e for e in evidence
    ]


def names_for(x_handle: str, names: Sequence[str]) -> list[str]:
    """The contact's names; when the archive has none, those read from a handle such as
    ``anderson_jean``: in its order and, for two words, the other way round (a handle puts the
    last name first as often as not)."""
    if names or "_" not in x_handle.strip("_"):
        return list(names)
    words_in_handle = [w for w in re.sub(r"\d", "", x_handle).split("_") if len(w) >= 2]
    if len(words_in_handle) == 2:
        return [" ".join(words_in_handle), " ".join(reversed(words_in_handle))]
    return [" ".join(words_in_handle)] if len(words_in_handle) >= 2 else []


def weigh_all(
    x_handle: str, names: Sequence[str], candidates: list[Candidate], ties: dict[str, Ties] | None = None
) -> list[Candidate]:
    """Weigh every candidate of one contact against the others; sets ``evidence`` and ``chance``.

    Returns the visible candidates, most likely first.
    """
    names = names_for(x_handle, names)
    visible = [c for c in candidates if not c.hidden]
    simple_names = {simplify(name) for name in names if simplify(name)}
    same_name = sum(1 for c in visible if simplify(c.display_name) in simple_names)
    exact = {
        c.did
        for c in visible
        if any(e.reason in ("exact_handle", "domain_handle") for e in handle_evidence(x_handle, names, c.handle))
    }
    for candidate in visible:
        context = Context(
            same_name_accounts=same_name,
            another_has_exact_handle=bool(exact - {candidate.did}),
            found_by_name_only=candidate.found_by_name and not candidate.found_by_handle,
            ties=(ties or {}).get(candidate.did),
        )
        candidate.evidence = weigh(x_handle, names, candidate, context)
    total = math.exp(NONE_SCORE) + sum(math.exp(c.score) for c in visible)
    for candidate in visible:
        candidate.chance = math.exp(candidate.score) / total
    return sorted(visible, key=lambda c: -c.chance)


def level(chance: float, identity: float | None = None) -> Confidence | None:
    """The calibrated level of a chance; None when it is too unlikely to show.

    ``identity`` is the weight of the evidence about who the account is (all but ties): ties say
    "someone in the person's circles", so they lift a candidate only that far on their own.
    """
    if chance >= P_HIGH and (identity is None or identity >= IDENTITY_FOR_HIGH):
        return HIGH
    if chance >= P_MEDIUM and (identity is None or identity >= IDENTITY_FOR_MEDIUM):
        return MEDIUM
    if chance >= P_SHOWN:
        return LOW
    return None


def identity_weight(evidence: Iterable[Evidence]) -> float:
    return sum(e.weight for e in evidence if e.reason not in TIE_REASONS)


def candidate_level(candidate: Candidate) -> Confidence | None:
    return level(candidate.chance, identity_weight(candidate.evidence))


def shared_chances(chances: Sequence[float]) -> list[float]:
    """The chances that one account is each of several contacts it was proposed for.

    An account is one person at most: weighed contact by contact, each chance ignores the others.
    Taken together, the account is contact A, or B, ..., or none of them, each in proportion to
    its odds (``p / (1 - p)``, and 1 for "none"): 0.90 and 0.70 become 0.73 and 0.19, 0.995 and
    0.13 become 0.994 and 0.001.
    """
    odds = [min(chance, 1 - 1e-9) / (1 - min(chance, 1 - 1e-9)) for chance in chances]
    total = 1.0 + sum(odds)
    return [value / total for value in odds]


def is_choice(ranked: Sequence[Candidate]) -> bool:
    """Two candidates remain for one contact and neither stands out: ask the person once."""
    if len(ranked) < 2:
        return False
    first, second = ranked[0].chance, ranked[1].chance
    return first < P_MEDIUM and second >= P_CHOICE * first and first + second >= 0.6 and second >= P_SHOWN


def worth_corroborating(ranked: Sequence[Candidate]) -> list[Candidate]:
    """Candidates whose level ties could change: not yet high, and not hopeless even once tied
    (a tie keeps only part of a handle's doubt, see :func:`weigh`)."""
    if ranked and ranked[0].chance >= P_HIGH:
        return []
    hopeful = [(c, hopeful_score(c)) for c in ranked[:6]]
    return [c for c, score in hopeful if score > -2.0 and c.chance * math.exp(score - c.score) >= 0.01]


def hopeful_score(candidate: Candidate) -> float:
    """The score the candidate would have if it were tied: its handle's doubt softened (once)."""
    if is_tied(candidate.evidence):
        return candidate.score
    return sum(e.weight for e in soften_handle_doubt(candidate.evidence))
