"""A seeded synthetic world for measuring the matcher's precision and recall: no real person in it.

An X population (common first and last names from several languages, so that many people share
a name; handles with digits, underscores, initials, nicknames), about a third of it on Bluesky
with the habits people really have (same handle, underscores turned into hyphens or dropped,
own domains, digits added, dropped or changed, another handle with the same display name, a bio
naming the X handle in one of several languages, nothing in common), plus Bluesky-only strangers
drawn from the same names, lookalike handles, impersonators (some labelled, some not), fan
accounts, a follow graph (the person's contacts know each other in a few circles; strangers
follow strangers and famous accounts), an archive that names a realistic share of the contacts
(mentions with names, replies with handles only, some handles out of date) and a directory
listing the few who opted in.

Used by ``bench/match_quality.py`` (10,000 X accounts) and by the tests (a small world). Imports
nothing from ``pyscript_app``: the truth is kept apart from what the matcher sees.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST_NAMES = (  # noqa: SIM905 (one line of names a row reads better)
    "alex marie jean david maria anna sarah thomas laura julie nicolas paul michael emma lucas "
    "sophie pierre daniel chris john james robert mark lisa camille manon hugo louis lea chloe "
    "ines sam max ben tom leo nina eva clara lena sofia carlos juan jose luis ana carmen pablo "
    "diego lucia elena javier miguel jorge andrea marco giulia luca francesca matteo sara "
    "giorgio paolo hans peter klaus anja katrin stefan jan lukas jonas felix moritz svenja "
    "emily olivia jack harry george amelia isla noah liam ethan mia ava grace ella ruby "
    "mohamed ahmed fatima yasmine karim amina omar leila rachid samir nadia youssef "
    "kenji yuki hiro akira mei li wei chen priya arjun ravi anil deepa kavya rohan "
    "joao pedro tiago beatriz rita ines rafael bruno marta ola piotr kasia tomasz agnieszka"
).split()
LAST_NAMES = (  # noqa: SIM905 (one line of names a row reads better)
    "martin bernard dubois thomas robert richard petit durand leroy moreau simon laurent lefebvre "
    "michel garcia david bertrand roux vincent fournier morel girard andre mercier blanc guerin "
    "boyer garnier chevalier francois legrand gauthier perrin robin clement morin nicolas henry "
    "smith johnson williams brown jones miller davis wilson anderson taylor moore jackson white "
    "harris clark lewis walker hall allen young king wright scott green baker adams nelson hill "
    "muller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch richter "
    "klein wolf neumann schwarz zimmermann braun kruger hartmann lange werner krause lehmann "
    "rossi russo ferrari esposito bianchi romano colombo ricci marino greco bruno gallo conti "
    "lopez gonzalez rodriguez fernandez sanchez perez gomez diaz moreno alvarez romero navarro "
    "silva santos oliveira souza costa pereira ferreira almeida carvalho ribeiro gomes lima "
    "kowalski nowak wisniewski wojcik kaminski lewandowski zielinski szymanski "
    "tanaka suzuki sato takahashi watanabe ito yamamoto nakamura kobayashi kato "
    "wang zhang liu yang huang zhao wu zhou xu sun ma zhu hu guo he lin "
    "khan ali hassan hussein ahmed benali haddad mansour nasser saleh "
    "patel sharma singh kumar gupta reddy rao nair iyer das"
).split()
NICK_WORDS = (  # noqa: SIM905 (one line of names a row reads better)
    "sunny fox wolf pixel nova echo river storm maple cedar coffee vinyl comet orbit lumen "
    "atlas ember frost willow sparrow otter panda tiger mango kiwi lemon ginger pepper"
).split()
TLDS = ("com", "fr", "net", "de", "dev", "me", "org", "io", "es", "it")
EMOJI = ("🌻", "🦋", "🌍", "✨", "🎧", "📚", "🏳️‍🌈", "🌊")
BIO_TEMPLATES = (
    "Ex-Twitter: @{h}",
    "Formerly x.com/{h}",
    "Anciennement sur X : @{h}",
    "Antes en Twitter: @{h}",
    "Früher auf X: @{h}",
    "Também no X como @{h}",
    "元Twitter @{h}",
    "twitter.com/{h} (archived)",
    "Ich bin auch auf 𝕏: @{h}",
    "Prima su Twitter @{h}",
)
PLAIN_BIOS = (
    "Coffee, books and bikes.",
    "Developer. Opinions my own.",
    "Photographe amateur.",
    "Lehrerin, Mutter, Leserin.",
    "Periodista. Madrid.",
    "Music nerd.",
    "",
    "",
    "he/him",
    "Gardening and cats.",
)
FAN_BIOS = ("Fan account of x.com/{h}, not affiliated", "Parodie de @{h} sur X", "Unofficial fan page: twitter.com/{h}")


@dataclass
class XAccount:
    x_id: str
    handle: str
    name: str
    popular: bool = False


@dataclass
class BlueskyAccount:
    did: str
    handle: str
    display_name: str
    description: str = ""
    labels: list[str] = field(default_factory=list)
    followers: int = 10
    owner: str = ""  # the X id of the same person, "" for anyone else (truth, never shown to the matcher)
    kind: str = "stranger"  # real, stranger, lookalike, impersonator, fan


@dataclass
class Named:
    """What the archive reveals of one contact."""

    handles: list[str]
    names: list[str]
    seen: int


@dataclass
class World:
    seed: int
    x: dict[str, XAccount]
    bluesky: dict[str, BlueskyAccount]  # did -> account
    follows: dict[str, set[str]]
    following: list[str]
    followers: list[str]
    named: dict[str, Named]
    directory: dict[str, str]  # x_id -> Bluesky handle, claimed by the person
    self_did: str
    habits: dict[str, str]  # x_id -> how the contact picked their Bluesky account (contacts on Bluesky)

    @property
    def truth(self) -> dict[str, str]:
        """X id -> DID of the same person, for everyone on Bluesky."""
        return {a.owner: a.did for a in self.bluesky.values() if a.owner}

    def contacts(self) -> list[str]:
        return list(dict.fromkeys(self.following + self.followers))

    def findable(self) -> set[str]:
        """Contacts on Bluesky that the archive names or the directory lists."""
        truth = self.truth
        return {x_id for x_id in self.contacts() if x_id in truth and (x_id in self.named or x_id in self.directory)}


def zipf_weights(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


class Generator:
    """Builds one world; every random choice comes from one seeded ``random.Random``."""

    def __init__(
        self,
        seed: int,
        x_accounts: int = 10_000,
        strangers: int = 6_000,
        following: int = 700,
        followers: int = 900,
        both: int = 250,
        on_bluesky: float = 0.34,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.sizes = (x_accounts, strangers, following, followers, both)
        self.on_bluesky = on_bluesky
        self.first_weights = zipf_weights(len(FIRST_NAMES), 0.85)
        self.last_weights = zipf_weights(len(LAST_NAMES), 0.8)
        self.x_handles: set[str] = set()
        self.bluesky_handles: set[str] = set()
        self.bluesky: dict[str, BlueskyAccount] = {}
        self.next_did = 0

    # --- names and handles --------------------------------------------------------------------

    def person_name(self) -> tuple[str, str]:
        first = self.rng.choices(FIRST_NAMES, self.first_weights)[0]
        last = self.rng.choices(LAST_NAMES, self.last_weights)[0]
        return first, last

    def x_handle_for(self, first: str, last: str) -> str:
        digits = str(self.rng.randint(1, 99))
        shapes = [
            (0.18, f"{first}{last}"),
            (0.14, f"{first}_{last}"),
            (0.20, f"{first}{last}{digits}"),
            (0.08, f"{first[0]}{last}"),
            (0.06, f"{first}{last[0]}{digits}"),
            (0.12, f"{self.rng.choice(NICK_WORDS)}{self.rng.choice(NICK_WORDS)}{digits}"),
            (0.07, f"{first}{last}{self.rng.randint(1960, 2005)}"),
            (0.08, f"{last}_{first}"),
            (0.07, f"the{first}{last[:3]}"),
        ]
        handle = self.rng.choices([h for _, h in shapes], [w for w, _ in shapes])[0][:15]
        while handle.lower() in self.x_handles:
            handle = f"{handle[:12]}{self.rng.randint(1, 999)}"
        self.x_handles.add(handle.lower())
        return handle

    def x_display_name(self, first: str, last: str) -> str:
        r = self.rng.random()
        full = f"{first.title()} {last.title()}"
        if r < 0.68:
            return full
        if r < 0.74:
            return full.lower()
        if r < 0.80:
            return f"{first.title()} {last[0].upper()}."
        if r < 0.90:
            return f"{full} {self.rng.choice(EMOJI)}"
        return self.rng.choice(NICK_WORDS).title()

    def take(self, wanted: str, fallback_digits: bool = True) -> str:
        """A free Bluesky handle: the wanted one, else with digits (first come, first served)."""
        handle = wanted
        while handle in self.bluesky_handles:
            if not fallback_digits:
                return ""
            label, _, host = handle.partition(".")
            handle = f"{label.rstrip('0123456789')}{self.rng.randint(2, 999)}.{host}"
        self.bluesky_handles.add(handle)
        return handle

    def add_bluesky(self, handle: str, name: str, bio: str = "", **extra: object) -> BlueskyAccount:
        self.next_did += 1
        did = f"did:plc:w{self.seed}x{self.next_did:07d}"
        account = BlueskyAccount(did, handle, name, bio, **extra)  # type: ignore[arg-type]
        self.bluesky[did] = account
        return account

    def label(self, text: str) -> str:
        clean = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
        while "--" in clean:
            clean = clean.replace("--", "-")
        return clean[:40] or "user"

    # --- a stranger, a contact's counterpart ----------------------------------------------------

    def stranger(self) -> BlueskyAccount:
        first, last = self.person_name()
        x_like = self.x_handle_for(first, last)
        self.x_handles.discard(x_like.lower())
        name = self.x_display_name(first, last)
        if self.rng.random() < 0.12:
            handle = self.take(f"{self.label(x_like)}.{self.rng.choice(TLDS)}")
        else:
            handle = self.take(f"{self.label(x_like)}.bsky.social")
        return self.add_bluesky(handle, name, self.rng.choice(PLAIN_BIOS), followers=self.rng.randint(0, 400))

    def counterpart(self, account: XAccount, first: str, last: str) -> tuple[BlueskyAccount, str]:
        """The same person on Bluesky, and the habit they followed."""
        rng = self.rng
        h = account.handle.lower()
        same_name = (
            account.name
            if rng.random() < 0.72
            else rng.choice([f"{account.name} {rng.choice(EMOJI)}", first.title(), f"{first.title()} {last.title()}"])
        )
        bio = rng.choice(PLAIN_BIOS)
        habits = [
            (0.22, "same_handle"),
            (0.10, "hyphens"),
            (0.05, "underscores_dropped"),
            (0.05, "domain_from_handle"),
            (0.05, "domain_from_name"),
            (0.09, "digits_changed"),
            (0.16, "other_handle_same_name"),
            (0.14, "bio_names_x"),
            (0.14, "nothing_in_common"),
        ]
        habit = rng.choices([h for _, h in habits], [w for w, _ in habits])[0]
        label = self.label(h)
        if habit == "same_handle":
            handle = self.take(f"{label.replace('-', '')}.bsky.social")
        elif habit == "hyphens":
            handle = self.take(f"{label}.bsky.social")
        elif habit == "underscores_dropped":
            handle = self.take(f"{h.replace('_', '')}.bsky.social")
        elif habit == "domain_from_handle":
            handle = self.take(f"{h.replace('_', '')}.{rng.choice(TLDS)}")
        elif habit == "domain_from_name":
            handle = self.take(f"{first}{last}.{rng.choice(TLDS)}")
        elif habit == "digits_changed":
            stem = h.rstrip("0123456789").replace("_", "")
            handle = self.take(
                f"{stem}{rng.choice(['', str(rng.randint(1, 99)), str(rng.randint(1970, 2004))])}.bsky.social"
            )
        elif habit == "other_handle_same_name":
            same_name = account.name
            handle = self.take(
                f"{rng.choice([first[0] + last, first + '-' + rng.choice(NICK_WORDS), last + first[0]])}.bsky.social"
            )
        elif habit == "bio_names_x":
            handle = self.take(f"{self.label(rng.choice(NICK_WORDS) + str(rng.randint(1, 99)))}.bsky.social")
            bio = f"{rng.choice(PLAIN_BIOS)} {rng.choice(BIO_TEMPLATES).format(h=account.handle)}".strip()
        else:  # nothing_in_common
            same_name = rng.choice(NICK_WORDS).title() + " " + rng.choice(NICK_WORDS).title()
            handle = self.take(f"{rng.choice(NICK_WORDS)}{rng.choice(NICK_WORDS)}{rng.randint(1, 99)}.bsky.social")
        followers = rng.randint(2000, 50_000) if account.popular else rng.randint(5, 800)
        real = self.add_bluesky(handle, same_name, bio, owner=account.x_id, kind="real", followers=followers)
        return real, habit

    def shadows(self, account: XAccount, real: BlueskyAccount | None, first: str, last: str) -> list[BlueskyAccount]:
        """Lookalikes, impersonators and fans of one contact."""
        rng = self.rng
        made = []
        h = account.handle.lower()
        stem = h.rstrip("0123456789").replace("_", "")
        if rng.random() < 0.25:  # same name, a handle that differs by its digits or one letter
            variant = rng.choice(
                [f"{stem}{rng.randint(1, 99)}", f"{stem}{stem[-1]}", f"{first}-{last}{rng.randint(1, 9)}"]
            )
            if self.label(variant).replace("-", "") == self.label(h).replace("-", ""):  # the same digits again
                variant += "0"
            handle = self.take(f"{self.label(variant)}.bsky.social", fallback_digits=True)
            made.append(self.add_bluesky(handle, account.name, rng.choice(PLAIN_BIOS), kind="lookalike"))
        if account.popular and rng.random() < 0.4:
            copied = real.description if real and rng.random() < 0.6 else ""
            handle = self.take(f"{self.label(h)}-{rng.choice(['official', 'real', 'news', 'backup'])}.bsky.social")
            labels = ["impersonation"] if rng.random() < 0.5 else []
            made.append(
                self.add_bluesky(
                    handle,
                    real.display_name if real else account.name,
                    copied,
                    labels=labels,
                    kind="impersonator",
                    followers=rng.randint(0, 30),
                )
            )
        if account.popular and rng.random() < 0.2:
            handle = self.take(f"{self.label(stem)}fans.bsky.social")
            made.append(
                self.add_bluesky(
                    handle, f"{account.name} fans", rng.choice(FAN_BIOS).format(h=account.handle), kind="fan"
                )
            )
        return made

    # --- the whole world ------------------------------------------------------------------------

    def build(self) -> World:
        rng = self.rng
        x_count, stranger_count, following_count, follower_count, both_count = self.sizes
        x: dict[str, XAccount] = {}
        names: dict[str, tuple[str, str]] = {}
        for i in range(x_count):
            first, last = self.person_name()
            x_id = str(1_000_000_000 + self.seed * 100_000 + i)
            x[x_id] = XAccount(
                x_id, self.x_handle_for(first, last), self.x_display_name(first, last), rng.random() < 0.05
            )
            names[x_id] = (first, last)
        # Strangers come first in half the cases: some hold the handle a contact would have wanted.
        early = [self.stranger() for _ in range(stranger_count // 2)]
        ids = list(x)
        rng.shuffle(ids)
        following = ids[:following_count]
        followers = ids[following_count - both_count : following_count - both_count + follower_count]
        contacts = list(dict.fromkeys(following + followers))
        habits: dict[str, str] = {}
        reals: dict[str, BlueskyAccount] = {}
        for x_id in ids:
            if rng.random() >= self.on_bluesky:
                continue
            real, habit = self.counterpart(x[x_id], *names[x_id])
            reals[x_id] = real
            if x_id in contacts:
                habits[x_id] = habit
        late = [self.stranger() for _ in range(stranger_count - stranger_count // 2)]
        shadows: list[BlueskyAccount] = []
        for x_id in contacts:
            shadows += self.shadows(x[x_id], reals.get(x_id), *names[x_id])
        self_account = self.add_bluesky(self.take("me-the-person.bsky.social"), "The Person", kind="self")
        follows = self.follow_graph(contacts, following, followers, reals, early + late, self_account.did)
        named = self.archive_names(x, following, followers)
        directory = {x_id: reals[x_id].handle for x_id in contacts if x_id in reals and rng.random() < 0.12}
        return World(
            self.seed, x, self.bluesky, follows, following, followers, named, directory, self_account.did, habits
        )

    def follow_graph(
        self,
        contacts: list[str],
        following: list[str],
        followers: list[str],
        reals: dict[str, BlueskyAccount],
        strangers: list[BlueskyAccount],
        self_did: str,
    ) -> dict[str, set[str]]:
        rng = self.rng
        follows: dict[str, set[str]] = {}
        on_bluesky = [x_id for x_id in contacts if x_id in reals]
        circle = {x_id: rng.randrange(4) for x_id in on_bluesky}
        popular = [reals[x_id].did for x_id in on_bluesky if reals[x_id].followers > 1500]
        for x_id in on_bluesky:
            did = reals[x_id].did
            mine = follows.setdefault(did, set())
            shy = rng.random() < 0.15  # follows almost nobody yet
            for other in on_bluesky:
                if other == x_id or shy:
                    continue
                if rng.random() < (0.10 if circle[other] == circle[x_id] else 0.01):
                    mine.add(reals[other].did)
            mine.update(s.did for s in rng.sample(strangers, min(len(strangers), rng.randint(3, 30))))
        everyone_else = [a for a in self.bluesky.values() if a.kind != "real" or a.owner not in circle]
        for account in everyone_else:
            mine = follows.setdefault(account.did, set())
            mine.update(s.did for s in rng.sample(strangers, min(len(strangers), rng.randint(0, 25))))
            for famous in popular:
                if rng.random() < 0.02:
                    mine.add(famous)
        followed = set(following)
        mine = follows.setdefault(self_did, set())
        for x_id in on_bluesky:
            if x_id in followed and rng.random() < 0.4:
                mine.add(reals[x_id].did)
            if x_id in followers and rng.random() < 0.35:
                follows[reals[x_id].did].add(self_did)
        return follows

    def archive_names(self, x: dict[str, XAccount], following: list[str], followers: list[str]) -> dict[str, Named]:
        """Mentions with names, replies with handles only, some handles since changed."""
        rng = self.rng
        named: dict[str, Named] = {}
        followed = set(following)
        for x_id in dict.fromkeys(following + followers):
            share = 0.55 if x_id in followed else 0.25
            if rng.random() >= share:
                continue
            account = x[x_id]
            handle = account.handle
            if rng.random() < 0.04:
                handle = f"{handle[:10]}_old{rng.randint(1, 9)}"  # renamed since the post
            with_name = rng.random() < 0.7
            named[x_id] = Named([handle], [account.name] if with_name else [], rng.randint(1, 30))
        return named


def build_world(seed: int, **sizes: int) -> World:
    return Generator(seed, **sizes).build()  # type: ignore[arg-type]


def small_world(seed: int) -> World:
    """The tests' copy: the same habits at a twentieth of the size."""
    return build_world(seed, x_accounts=600, strangers=400, following=90, followers=110, both=30)


@dataclass
class Quality:
    """How right one run's Bluesky suggestions were, against the world's truth."""

    levels: dict[str, tuple[int, int]]  # level -> (suggestions, right ones)
    choices: tuple[int, int]  # (contacts asked to pick one of two, of which the right one was offered)
    default_selected: tuple[int, int]  # (pre-selected suggestions, right ones)
    findable: int
    found_any: int  # findable contacts whose right account is among the suggestions
    found_default: int  # ... among the pre-selected ones
    by_habit: dict[str, tuple[int, int]]  # habit -> (findable contacts with it, found at any level)

    @staticmethod
    def ratio(pair: tuple[int, int]) -> float:
        return pair[1] / pair[0] if pair[0] else 1.0

    @property
    def recall(self) -> float:
        return self.found_any / self.findable if self.findable else 1.0

    @property
    def default_precision(self) -> float:
        return self.ratio(self.default_selected)


def measure(world: World, matches: list[dict]) -> Quality:
    """Compare the Bluesky matches (``Match.to_json()`` dicts) with the truth."""
    truth = world.truth
    levels: dict[str, list[int]] = {"high": [0, 0], "medium": [0, 0], "low": [0, 0]}
    selected = [0, 0]
    chosen: dict[str, bool] = {}
    right_any: set[str] = set()
    right_default: set[str] = set()
    for match in matches:
        if match["network"] != "bluesky":
            continue
        right = truth.get(match["x_id"]) == match["did"] and bool(match["did"])
        levels[match["confidence"]][0] += 1
        levels[match["confidence"]][1] += right
        if match["confidence"] != "low":
            selected[0] += 1
            selected[1] += right
            if right:
                right_default.add(match["x_id"])
        if right:
            right_any.add(match["x_id"])
        if match.get("choice"):
            chosen[match["x_id"]] = chosen.get(match["x_id"], False) or right
    findable = world.findable()
    habits: dict[str, list[int]] = {}
    for x_id in findable:
        habit = "directory" if x_id in world.directory else world.habits.get(x_id, "?")
        pair = habits.setdefault(habit, [0, 0])
        pair[0] += 1
        pair[1] += x_id in right_any
    return Quality(
        {level: (pair[0], pair[1]) for level, pair in levels.items()},
        (len(chosen), sum(chosen.values())),
        (selected[0], selected[1]),
        len(findable),
        len(right_any & findable),
        len(right_default & findable),
        {habit: (pair[0], pair[1]) for habit, pair in habits.items()},
    )
