#!/usr/bin/env python3
"""Generate a synthetic tradekb corpus for benchmarks.

    python bench/generate.py --triples 100000 --out /tmp/kb100k --seed 1 [--defects 3]

writes a self-contained project into OUT: ``seeds/registry.yaml``, one ``seeds/<stem>.txt`` article
and ``seeds/<stem>.yaml`` annotation file per article, copies of the repository's ``ontology/`` and
``queries/``, and ``defects.json`` (the defects planted with --defects, as [{"kind", "id"}]).

The corpus imitates the seeds: a registry of governments, ministries, international bodies, news
outlets and officials with posts, whose mentions follow a Zipf-like law; meetings (talks, calls,
visits, briefings, multilateral meetings), trade measures and statements defined once in the
registry and reported by 2-5 articles each, every article giving its own status, date and titles,
and a few per cent of reports disagreeing (a status going back, a day off by one, "acting" or not).
Articles are built from sentence templates; every quote is a span recorded while writing the text,
so it is the article's exact words (disambiguated with ``occurrence`` when the words recur).

--triples is the size of the built union graph (``load_knowledge_base(OUT).union()``), ontology
included; the article count is derived from it with the calibration constants below.
The output is a function of the arguments only: the same arguments give byte-identical files.

Importable: ``from generate import generate`` (with bench/ on sys.path).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent

# Calibration: (articles, triples in the built union graph, ontology included), the mean over
# seeds 1-8 (1-3 for 999 articles) of len(load_knowledge_base(OUT).union()). About 600-750
# triples per article; the rate grows slowly with the corpus, as the registry does (more distinct
# people, each with a post to report). articles_for() interpolates, and extrapolates past the end.
CALIBRATION = [(2, 4070), (9, 7300), (29, 19310), (99, 68400), (299, 211100), (999, 739300)]

START = date(2019, 7, 1)
DISAGREE = 0.03  # share of reports that contradict the others
STORIES_PER_ARTICLE = 5

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

# code, name, demonym, capital, IANA zone, printed zone abbreviation, for zones without summer time (None: "local time")
COUNTRIES = [
    ("kr", "South Korea", "South Korean", "Seoul", "Asia/Seoul", "KST"),
    ("jp", "Japan", "Japanese", "Tokyo", "Asia/Tokyo", "JST"),
    ("us", "United States", "American", "Washington", "America/New_York", None),
    ("cn", "China", "Chinese", "Beijing", "Asia/Shanghai", "CST"),
    ("de", "Germany", "German", "Berlin", "Europe/Berlin", None),
    ("in", "India", "Indian", "New Delhi", "Asia/Kolkata", "IST"),
    ("au", "Australia", "Australian", "Canberra", "Australia/Sydney", None),
    ("fr", "France", "French", "Paris", "Europe/Paris", None),
    ("gb", "United Kingdom", "British", "London", "Europe/London", None),
    ("ca", "Canada", "Canadian", "Ottawa", "America/Toronto", None),
    ("br", "Brazil", "Brazilian", "Brasilia", "America/Sao_Paulo", None),
    ("mx", "Mexico", "Mexican", "Mexico City", "America/Mexico_City", None),
    ("id", "Indonesia", "Indonesian", "Jakarta", "Asia/Jakarta", "WIB"),
    ("vn", "Vietnam", "Vietnamese", "Hanoi", "Asia/Ho_Chi_Minh", None),
    ("th", "Thailand", "Thai", "Bangkok", "Asia/Bangkok", None),
    ("my", "Malaysia", "Malaysian", "Kuala Lumpur", "Asia/Kuala_Lumpur", None),
    ("ph", "Philippines", "Philippine", "Manila", "Asia/Manila", None),
    ("tr", "Turkey", "Turkish", "Ankara", "Europe/Istanbul", None),
    ("za", "South Africa", "South African", "Pretoria", "Africa/Johannesburg", None),
    ("ng", "Nigeria", "Nigerian", "Abuja", "Africa/Lagos", None),
    ("eg", "Egypt", "Egyptian", "Cairo", "Africa/Cairo", None),
    ("sa", "Saudi Arabia", "Saudi", "Riyadh", "Asia/Riyadh", None),
    ("ar", "Argentina", "Argentine", "Buenos Aires", "America/Argentina/Buenos_Aires", None),
    ("cl", "Chile", "Chilean", "Santiago", "America/Santiago", None),
    ("it", "Italy", "Italian", "Rome", "Europe/Rome", None),
    ("es", "Spain", "Spanish", "Madrid", "Europe/Madrid", None),
    ("pl", "Poland", "Polish", "Warsaw", "Europe/Warsaw", None),
    ("se", "Sweden", "Swedish", "Stockholm", "Europe/Stockholm", None),
    ("nz", "New Zealand", "New Zealand", "Wellington", "Pacific/Auckland", None),
    ("ke", "Kenya", "Kenyan", "Nairobi", "Africa/Nairobi", "EAT"),
]

GIVEN = """Mina Jun Hana Daniel Sofia Omar Lena Ravi Priya Tomas Elena Hiro Yuki Marco Anna Felix
Nadia Ivan Chen Wei Li Amara Kwame Lucia Pablo Ingrid Sven Aisha Karim Mei Kenji Sara Ahmed
Julia Noah Emma Lucas Olivia Mateo Chloe Arjun Diego Hassan Leila Viktor Maya Rafael Nora Ali
Grace Samuel Irene Jonas Clara Tariq Beatriz Ryo Sung Eun Dong Min Farah Adrian Helena""".split()

SURNAMES = """Park Tanaka Smith Muller Dubois Rossi Garcia Silva Kumar Nguyen Wong Sato Cho Lee
Schmidt Novak Kowalski Andersson Okafor Mensah Haddad Yilmaz Petrov Ivanova Costa Ferreira Lopez
Martinez Hernandez Fischer Weber Moreau Laurent Bianchi Romano Esposito Kim Yoon Han Ishikawa
Yamamoto Suzuki Watanabe Takahashi Kobayashi Nakamura Liu Zhang Huang Zhou Sharma Gupta Singh
Patel Rao Mehta Khan Hussain Rahman Santos Pereira Almeida Oliveira Bauer Wagner Becker Hoffmann
Lindqvist Berg Nielsen Hansen Jensen Larsen Virtanen Korhonen Novotny Horvath Nagy Popescu Dimitrov
Papadopoulos Georgiou Cohen Levi Mizrahi Adeyemi Bello Abubakar Mwangi Otieno Kariuki Osei Boateng
Tran Pham Hoang Vu Dang Bui Santoso Wijaya Hartono Reyes Cruz Bautista Ramos Mendoza Castillo
Ortiz Vargas Rojas Morales Navarro Torres Flores Herrera Medina Aguilar Campbell Stewart Murray
Sinclair Fraser Gallagher Byrne Walsh Doyle Kennedy Quinn""".split()

AREAS = ["bilateral economic affairs", "trade policy", "export control policy", "North American affairs",
         "Asian and Pacific affairs", "European affairs", "multilateral trade", "economic security",
         "international economic affairs", "industrial policy", "supply chain resilience",
         "strategic goods", "trade negotiations", "investment policy", "legal affairs",
         "African affairs", "Latin American affairs", "Middle Eastern affairs", "public diplomacy",
         "energy and resources"]

# Posts per country: (organization kind, label, printed titles). "{dem}" is the demonym.
POSTS = [
    ("gov", "President", ["President", "{dem} President"]),
    ("foreign", "Foreign Minister", ["Foreign Minister", "{dem} Foreign Minister"]),
    ("trade", "Trade Minister", ["Trade Minister", "{dem} Trade Minister", "Minister of Trade"]),
    ("office", "National Security Adviser", ["National Security Adviser", "{dem} National Security Adviser"]),
    ("foreign", "Foreign Ministry spokesperson", ["Foreign Ministry spokesperson", "{dem} Foreign Ministry spokesperson"]),
    ("gov", "Prime Minister", ["Prime Minister", "{dem} Prime Minister"]),
    ("trade", "Deputy Trade Minister", ["Deputy Trade Minister", "Vice Trade Minister"]),
    ("office", "Presidential Chief of Staff", ["presidential Chief of Staff", "Chief of Staff"]),
    ("foreign", "Vice Foreign Minister", ["Vice Foreign Minister", "First Vice Foreign Minister"]),
    ("office", "Deputy National Security Adviser", ["Deputy National Security Adviser"]),
    ("trade", "Trade Ministry spokesperson", ["Trade Ministry spokesperson"]),
]

# id, label, aliases, first printed form, later printed form
INTL = [
    ("wto", "World Trade Organization", ["World Trade Organization", "WTO", "the World Trade Organization", "the WTO"],
     "the World Trade Organization", "the WTO"),
    ("un", "United Nations", ["United Nations", "the United Nations", "the U.N.", "UN"], "the United Nations", "the U.N."),
    ("asean", "Association of Southeast Asian Nations", ["Association of Southeast Asian Nations", "ASEAN"],
     "ASEAN", "ASEAN"),
    ("oecd", "Organisation for Economic Co-operation and Development",
     ["OECD", "the OECD"], "the OECD", "the OECD"),
    ("apec", "Asia-Pacific Economic Cooperation", ["Asia-Pacific Economic Cooperation", "APEC"], "APEC", "APEC"),
    ("g20", "Group of 20", ["Group of 20", "G20", "the G20"], "the G20", "the G20"),
    ("imf", "International Monetary Fund", ["International Monetary Fund", "the International Monetary Fund", "IMF",
                                            "the IMF"], "the International Monetary Fund", "the IMF"),
]
INTL_POSTS = [("Director-General", ["Director-General"]), ("spokesperson", ["spokesperson"]),
              ("Deputy Director-General", ["Deputy Director-General"])]

WIRES = [("yonhap", "Yonhap", "kr"), ("kyodo", "Kyodo", "jp"), ("reuters", "Reuters", None), ("afp", "AFP", "fr"),
         ("xinhua", "Xinhua", "cn"), ("bernama", "Bernama", "my"), ("antara", "Antara", "id"),
         ("dpa", "dpa", "de")]
OUTLET_NOUNS = ["Herald", "Times", "Ledger", "Post", "Tribune", "Daily", "Observer", "Gazette", "Chronicle",
                "Journal", "Courier", "Standard"]

PRODUCTS = [
    ("semiconductor-materials", "Materials for semiconductors",
     ["key materials used in semiconductors", "chipmaking materials", "semiconductor materials"]),
    ("display-materials", "Display materials", ["fluorinated polyimide", "display panel materials"]),
    ("hydrogen-fluoride", "Hydrogen fluoride", ["hydrogen fluoride", "high-purity etching gas"]),
    ("photoresists", "Photoresists", ["photoresists", "photoresist chemicals"]),
    ("steel-products", "Steel products", ["steel products", "flat-rolled steel"]),
    ("aluminium", "Aluminium", ["aluminium ingots", "aluminium products"]),
    ("rare-earths", "Rare earth elements", ["rare earths", "rare earth elements"]),
    ("battery-components", "Lithium battery components", ["lithium battery components", "battery cathodes"]),
    ("machine-tools", "Machine tools", ["machine tools", "precision machine tools"]),
    ("solar-panels", "Solar panels", ["solar panels", "photovoltaic modules"]),
    ("soybeans", "Soybeans", ["soybeans", "soybean shipments"]),
    ("auto-parts", "Automobile parts", ["automobile parts", "car parts"]),
    ("pharmaceuticals", "Pharmaceuticals", ["pharmaceuticals", "generic medicines"]),
    ("seafood", "Seafood", ["seafood", "fishery products"]),
    ("lng", "Liquefied natural gas", ["liquefied natural gas", "LNG cargoes"]),
    ("carbon-fiber", "Carbon fiber", ["carbon fiber", "carbon fibre composites"]),
    ("telecom-equipment", "Telecommunications equipment", ["telecommunications equipment", "5G network gear"]),
    ("beef", "Beef", ["beef", "chilled beef"]),
    ("wine", "Wine", ["wine", "bottled wine"]),
    ("drones", "Commercial drones", ["commercial drones", "drone components"]),
    ("fertilizer", "Fertilizer", ["fertilizer", "potash fertilizer"]),
    ("cotton", "Cotton", ["cotton", "raw cotton"]),
]

TOPICS = [
    ("trade-dispute", "Trade dispute", "Disputes between governments over trade measures and the responses to them."),
    ("export-controls", "Export controls", "Licensing and restriction of exports, and reviews of control lists."),
    ("supply-chains", "Global supply chains", "Effects of trade measures on supply chains and companies."),
    ("mediation", "Mediation", "Efforts by third parties to help resolve a dispute."),
    ("security-cooperation", "Security cooperation", "Cooperation among governments on security matters."),
    ("wto-dispute-settlement", "WTO dispute settlement", "Cases raised at the World Trade Organization."),
    ("tariffs", "Tariffs", "Duties imposed on imports, and retaliation in kind."),
    ("diplomatic-relations", "Diplomatic relations", "The state of relations between governments."),
]

THE = {"us", "gb", "ph"}  # "the United States"


def country_name(code: str) -> str:
    name = next(c[1] for c in COUNTRIES if c[0] == code)
    return f"the {name}" if code in THE else name


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
# (printed part of day, hour the loader uses for it, position): "early Friday" / "Friday evening"
PARTS_OF_DAY = [("early", 6, "pre"), ("late", 22, "pre"), ("morning", 9, "post"), ("afternoon", 15, "post"),
                ("evening", 19, "post"), ("night", 22, "post")]

# Statement words: (direct words, reported clause). {X}: the side's own country, {Y}: the other,
# {P}: a product phrase.
DEFEND = [
    ("The measures on {P} are a legitimate review of our export control system",
     "the measures on {P} were a legitimate review of {X}'s export control system"),
    ("This is not retaliation but a matter of national security",
     "the step was not retaliation but a matter of national security"),
    ("We have simply asked for proper management of sensitive exports",
     "{X} had simply asked for proper management of sensitive exports"),
    ("The new rules will be applied fairly and in line with international law",
     "the new rules would be applied fairly and in line with international law"),
    ("We remain open to dialogue at the working level",
     "{X} remained open to dialogue at the working level"),
]
PROTEST = [
    ("We will respond firmly to these unjust measures", "{X} would respond firmly to what it called unjust measures"),
    ("The restrictions on {P} must be withdrawn immediately",
     "the restrictions on {P} must be withdrawn immediately"),
    ("These curbs will hurt global supply chains and companies far beyond our two countries",
     "the curbs would hurt global supply chains and companies far beyond the two countries"),
    ("This is a clear violation of free trade principles", "the measure clearly violated free trade principles"),
    ("We are reviewing every option, including a complaint at the WTO",
     "{X} was reviewing every option, including a complaint at the WTO"),
    ("The decision is deeply regrettable", "the decision by {Y} was deeply regrettable"),
]
ALLEGATIONS = [
    ("{Y} has failed to manage exports of sensitive items properly",
     "{Y} had failed to manage exports of sensitive items properly",
     "it had failed to manage exports of sensitive items properly"),
    ("Strategic goods shipped to {Y} have ended up in third countries",
     "strategic goods shipped to {Y} had ended up in third countries",
     "strategic goods it imported had ended up in third countries"),
    ("{Y} has been dumping {P} on world markets", "{Y} had been dumping {P} on world markets",
     "it had been dumping {P} on world markets"),
    ("{Y} broke its commitments under the bilateral trade agreement",
     "{Y} had broken its commitments under the bilateral trade agreement",
     "it had broken its commitments under the bilateral trade agreement"),
]
MEETING_WORDS = [
    ("We had a candid exchange of views on the trade dispute",
     "the two sides had a candid exchange of views on the trade dispute"),
    ("Both sides agreed to continue consultations at the working level",
     "both sides had agreed to continue consultations at the working level"),
    ("We agreed on the importance of stable supply chains", "they had agreed on the importance of stable supply chains"),
    ("The talks were constructive, but differences remain", "the talks were constructive but differences remained"),
    ("We will keep talking until we find a solution", "the two sides would keep talking until they found a solution"),
    ("We asked for understanding of our position on export controls",
     "{X} had asked for understanding of its position on export controls"),
]
GENERAL = [
    ("We hope the dispute will be resolved through dialogue", "{X} hoped the dispute would be resolved through dialogue"),
    ("Relations with {Y} are incredibly important to us", "relations with {Y} were incredibly important to {X}"),
    ("We will do everything we can to strengthen our partnership",
     "{X} would do everything it could to strengthen the partnership"),
    ("The region faces shared challenges that call for cooperation",
     "the region faced shared challenges that called for cooperation"),
    ("Free and fair trade is the foundation of our prosperity",
     "free and fair trade was the foundation of the region's prosperity"),
    ("We are watching the situation closely", "{X} was watching the situation closely"),
]
REFUSALS = ["the dispute between {X} and {Y}", "the trade dispute", "whether talks with {Y} were planned",
            "the details of the negotiations", "the new export rules"]
FILLER = ["The dispute has rattled markets across the region.",
          "Analysts say the row could drag on for months.",
          "Shares of chipmakers fell on the news.",
          "Business groups have urged both sides to show restraint.",
          "The two countries are major trading partners.",
          "Officials on both sides have traded barbs in recent weeks."]


def slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(p for p in out.split("-") if p)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def first_of_month(d: date, ahead: int = 0) -> date:
    i = d.year * 12 + d.month - 1 + ahead
    return date(i // 12, i % 12 + 1, 1)


def month_day(t: date, p: date) -> str:
    return f"{MONTHS[t.month - 1]} {t.day}" + (f", {t.year}" if t.year != p.year else "")


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------

@dataclass
class Role:
    id: str
    person: str
    org: str
    label: str
    titles: list[str]
    acting: bool


@dataclass
class Actor:
    id: str
    kind: str  # gov, office, ministry, intl, person, outlet, wire, local
    label: str
    aliases: list[str]
    first: str
    short: str
    country: str | None = None
    part_of: str | None = None
    country_name: str | None = None  # for a Government
    role: Role | None = None
    weight: float = 1.0


@dataclass
class Place:
    id: str
    label: str
    tz: str


@dataclass
class Fact:
    id: str
    section: str  # meetings, measures, statements
    type: str  # meeting/measure type; for statements: regular, allegation, denial, refusal
    story: int
    actors: list[str]  # participants / [imposer, target] / speakers
    slots: list[tuple]  # per actor: (kinds, country or None)
    reporters: list[int]
    place: str | None = None
    topics: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    part_of: str | None = None
    about: list[str] = field(default_factory=list)
    denies: str | None = None
    day: date | None = None  # meeting day (place-local), statement day, measure announcement
    end: date | None = None  # last day of a visit
    effective: date | None = None
    fate: str = "held"
    words: str = ""
    clause: str = ""
    label: str = ""
    local: int | None = None  # the article index that defines it, for article-local facts


class Zipf:
    """Weighted choice among actors (weights fixed per actor, so every subset keeps the Zipf shape)."""

    def __init__(self, items: list[Actor]) -> None:
        self.items = items
        self.cum = list(accumulate(a.weight for a in items))

    def pick(self, rng: random.Random) -> Actor:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


class World:
    def __init__(self, rng: random.Random, n_articles: int) -> None:
        self.rng = rng
        self.actors: dict[str, Actor] = {}
        self.roles: dict[str, Role] = {}
        self.places: dict[str, Place] = {}
        self.products = {p[0]: p for p in PRODUCTS[:min(len(PRODUCTS), 5 + n_articles // 25)]}
        n_countries = min(len(COUNTRIES), 4 + n_articles // 40)
        self.countries = {c[0]: c for c in COUNTRIES[:3] + rng.sample(COUNTRIES[3:], n_countries - 3)}
        codes = sorted(self.countries)
        rng.shuffle(codes)
        # Country prominence: Zipf over a random order, the three classic ones first.
        order = [c for c in ("kr", "jp", "us")] + [c for c in codes if c not in ("kr", "jp", "us")]
        self.country_weight = {c: 1.0 / (i + 1) ** 0.9 for i, c in enumerate(order)}
        self.country_order = order
        for code in order:
            _, _, dem, capital, tz, _ = self.countries[code]
            name = country_name(code)
            self.places[slug(capital)] = Place(slug(capital), capital, tz)
            self._add(Actor(f"gov-{code}", "gov", f"Government of {name}",
                            [name, capital, f"the {dem} government"], rng.choice([name, name, f"the {dem} government"]),
                            rng.choice([name, name, capital]), code, country_name=name))
            self._add(Actor(f"{code}-presidential-office", "office", f"Presidential Office of {name}",
                            [f"the {dem} presidential office", "the presidential office"],
                            f"the {dem} presidential office", "the presidential office", code, f"gov-{code}"))
            self._add(Actor(f"{code}-foreign-ministry", "ministry", f"Ministry of Foreign Affairs of {name}",
                            [f"the {dem} Foreign Ministry", f"the Foreign Ministry of {name}"],
                            f"the {dem} Foreign Ministry", "the foreign ministry", code, f"gov-{code}"))
            self._add(Actor(f"{code}-trade-ministry", "ministry", f"Ministry of Trade of {name}",
                            [f"the {dem} Trade Ministry", f"the Trade Ministry of {name}"],
                            f"the {dem} Trade Ministry", "the trade ministry", code, f"gov-{code}"))
        for iid, label, aliases, first, short in INTL[:min(len(INTL), 2 + n_articles // 60)]:
            self._add(Actor(iid, "intl", label, aliases, first, short))
        # People: posts by country prominence, generic directors-general beyond the list.
        n_people = max(2 * n_countries, 6 + int(n_articles * 0.35))
        names = [(g, s) for g in GIVEN for s in SURNAMES]
        rng.shuffle(names)
        posts_taken: dict[str, int] = {c: 0 for c in order}
        intl_ids = [a.id for a in self.actors.values() if a.kind == "intl"]
        intl_taken = {i: 0 for i in intl_ids}
        cw = list(accumulate(self.country_weight[c] + 0.3 for c in order))
        for n in range(n_people):
            given, surname = names[n]
            pid = slug(f"{given}-{surname}")
            if intl_ids and rng.random() < 0.06:
                org = rng.choice(intl_ids)
                k = intl_taken[org]
                intl_taken[org] += 1
                post, titles = INTL_POSTS[k] if k < len(INTL_POSTS) else ("Senior official", ["senior official"])
                org_actor = self.actors[org]
                short_org = org_actor.short.removeprefix("the ")
                label = f"{post} of the {org_actor.label}"
                titles = [f"{short_org} {t}" for t in titles]
                country = None
            else:
                country = order[bisect(cw, rng.random() * cw[-1])]
                dem = self.countries[country][2]
                k = posts_taken[country]
                posts_taken[country] += 1
                if k < len(POSTS):
                    kind, post, titles = POSTS[k]
                else:
                    kind = rng.choice(["foreign", "trade"])
                    area = AREAS[(k - len(POSTS)) % len(AREAS)]
                    rank = ["Director-General", "Deputy Director-General", "Director"][(k - len(POSTS)) // len(AREAS) % 3]
                    post = f"{rank} for {area}"
                    titles = [post, f"{dem} {rank.lower()} for {area}"]
                    if (k - len(POSTS)) >= 3 * len(AREAS):
                        post = f"{post} ({k})"
                org = {"gov": f"gov-{country}", "office": f"{country}-presidential-office",
                       "foreign": f"{country}-foreign-ministry", "trade": f"{country}-trade-ministry"}[kind]
                titles = [t.format(dem=dem) for t in titles]
                label = f"{post}, {country_name(country)}"
            person = Actor(pid, "person", f"{given} {surname}", [f"{given} {surname}", surname],
                           f"{given} {surname}", surname, country)
            role = Role(f"{pid}-post", pid, org, label, titles, rng.random() < 0.08)
            person.role = role
            self.roles[role.id] = role
            self._add(person)
        # Outlets and wire services
        self.publishers: list[Actor] = []
        n_pub = max(2, min(60, n_articles // 12))
        used = set()
        for i in range(n_pub):
            code = order[i % len(order)]
            noun = OUTLET_NOUNS[(i // len(order)) % len(OUTLET_NOUNS)]
            city = self.countries[code][3]
            label = f"The {city} {noun}"
            if label in used:
                continue
            used.add(label)
            a = Actor(slug(f"{city}-{noun}"), "outlet", label, [label, f"{city} {noun}"], label, label, code)
            self._add(a)
            self.publishers.append(a)
        self.wires: list[Actor] = []
        for wid, name, code in WIRES[:min(len(WIRES), 1 + n_articles // 15)]:
            a = Actor(wid, "wire", name, [name, f"the {name} news agency"], name, name, code)
            self._add(a)
            self.wires.append(a)
        # Mention weights: Zipf over a random order, governments and heads of posts favoured.
        ranked = [a for a in self.actors.values() if a.kind not in ("outlet", "wire")]
        rng.shuffle(ranked)
        ranked.sort(key=lambda a: -(self.country_weight.get(a.country, 0.3)
                                    * (3.0 if a.kind == "gov" else 1.0)) * rng.random())
        for i, a in enumerate(ranked):
            a.weight = 1.0 / (i + 1)
        for i, a in enumerate(self.publishers):
            a.weight = 1.0 / (i + 1)
        for i, a in enumerate(self.wires):
            a.weight = 1.0 / (i + 1)
        self._choosers: dict[tuple, Zipf | None] = {}

    def _add(self, a: Actor) -> None:
        self.actors[a.id] = a

    def chooser(self, kinds: tuple, country: str | None) -> Zipf | None:
        key = (kinds, country)
        if key not in self._choosers:
            items = [a for a in self.actors.values() if a.kind in kinds and (country is None or a.country == country)]
            self._choosers[key] = Zipf(items) if items else None
        return self._choosers[key]

    def pick(self, kinds: tuple, country: str | None = None, exclude: set | None = None) -> Actor:
        z = self.chooser(kinds, country) or self.chooser(kinds, None)
        for _ in range(30):
            a = z.pick(self.rng)
            if not exclude or a.id not in exclude:
                return a
        pool = [a for a in z.items if not exclude or a.id not in exclude]
        return self.rng.choice(pool or z.items)

    def country(self, exclude: set | None = None) -> str:
        codes = [c for c in self.country_order if not exclude or c not in exclude]
        cum = list(accumulate(self.country_weight[c] for c in codes))
        return codes[bisect(cum, self.rng.random() * cum[-1])]


# --------------------------------------------------------------------------------------------
# Stories: the facts, who takes part, when, and which articles report them
# --------------------------------------------------------------------------------------------

PARTICIPANT = ("person", "gov", "ministry", "office")
SPEAKER = ("person", "gov", "ministry", "office", "intl")
IMPOSER = ("gov", "ministry")


class Plot:
    def __init__(self, rng: random.Random, world: World, published: list[date]) -> None:
        self.rng, self.world, self.published = rng, world, published
        self.facts: list[Fact] = []
        self.by_id: dict[str, Fact] = {}
        self.n_stories = 0
        self.counter: dict[str, int] = {}

    def new_id(self, base: str) -> str:
        n = self.counter.get(base, 0) + 1
        self.counter[base] = n
        return f"{base}-{n}"

    def add(self, f: Fact) -> Fact:
        self.facts.append(f)
        self.by_id[f.id] = f
        return f

    def pool(self, center: int) -> list[int]:
        n = len(self.published)
        lo, hi = max(0, center - 6), min(n, center + 7)
        size = min(hi - lo, self.rng.randint(3, 6))
        others = self.rng.sample([i for i in range(lo, hi) if i != center], size - 1)
        return sorted([center] + others)

    def reporters(self, pool: list[int], must: int | None = None) -> list[int]:
        k = min(len(pool), self.rng.randint(2, 5))
        chosen = set(self.rng.sample(pool, k))
        if must is not None and must not in chosen:
            chosen.pop()
            chosen.add(must)
        return sorted(chosen)

    def side(self, country: str, kinds: tuple = SPEAKER) -> tuple[Actor, tuple]:
        a = self.world.pick(kinds, country)
        return a, (kinds, a.country if a.country == country else None)

    # -- story kinds ---------------------------------------------------------------------
    def story(self, center: int) -> None:
        self.n_stories += 1
        r = self.rng.random()
        pool = self.pool(center)
        if r < 0.5:
            self.meeting_story(center, pool)
        elif r < 0.8:
            self.measure_story(center, pool)
        else:
            self.statement_story(center, pool)

    def first_day(self, reporters: list[int]) -> date:
        return min(self.published[i] for i in reporters)

    def meeting_story(self, center: int, pool: list[int]) -> None:
        rng, w = self.rng, self.world
        kind = rng.choices(["Talks", "PhoneCall", "Visit", "Briefing", "MultilateralMeeting"],
                           [35, 20, 20, 10, 15])[0]
        x = w.country()
        y = w.country({x})
        reporters = self.reporters(pool, center)
        p0 = self.first_day(reporters)
        fate = rng.choices(["held", "planned", "proposed", "cancelled", "declined", "unconfirmed"],
                           [72, 6, 7, 5, 5, 5])[0]
        day = p0 + timedelta(days=rng.randint(-5, 3))
        if fate == "planned":
            day = max(self.published[i] for i in reporters) + timedelta(days=rng.randint(1, 12))
        topics = sorted(rng.sample([t[0] for t in TOPICS], rng.randint(1, 2)))
        actors, slots, place = [], [], None
        if kind in ("Talks", "PhoneCall"):
            n = 2 if kind == "PhoneCall" else rng.choices([2, 3, 4], [75, 20, 5])[0]
            countries = [x, y] + [w.country({x, y}) if len(w.countries) > 2 else x for _ in range(n - 2)]
            for c in countries:
                a = w.pick(PARTICIPANT, c, set(actors))
                actors.append(a.id)
                slots.append((PARTICIPANT, c if a.country == c else None))
            if kind == "Talks" and rng.random() < 0.7:
                place = slug(self.world.countries[rng.choice(countries[:2])][3])
        elif kind == "Visit":
            a = w.pick(("person",), x)
            actors, slots = [a.id], [(("person",), a.country)]
            if rng.random() < 0.5:
                h = w.pick(PARTICIPANT, y, {a.id})
                actors.append(h.id)
                slots.append((PARTICIPANT, h.country if h.country == y else None))
            place = slug(self.world.countries[y][3])
        elif kind == "Briefing":
            a = w.pick(("person",), x)
            actors, slots = [a.id], [(("person",), a.country)]
            if rng.random() < 0.5:
                place = slug(self.world.countries[a.country or x][3])
        else:
            host = w.pick(("intl",)) if w.chooser(("intl",), None) else None
            if host:
                actors.append(host.id)
                slots.append((("intl",), None))
            used = {x}
            for _ in range(rng.randint(2, 4)):
                c = w.country(used) if len(used) < len(w.countries) else x
                used.add(c)
                a = w.pick(("person", "gov"), c, set(actors))
                actors.append(a.id)
                slots.append((("person", "gov"), c if a.country == c else None))
            place = slug(self.world.countries[rng.choice(sorted(used))][3])
        m = self.add(Fact(self.new_id(slug(kind) if kind != "MultilateralMeeting" else "multilateral-meeting"),
                          "meetings", kind, self.n_stories, actors, slots, reporters, place=place,
                          topics=topics, day=day, fate=fate))
        if kind == "Visit":
            m.end = day + timedelta(days=rng.randint(1, 4))
            if len(actors) == 2 and rng.random() < 0.5 and len(reporters) >= 2:
                self.add(Fact(self.new_id("talks"), "meetings", "Talks", self.n_stories, list(actors),
                              list(slots), self.reporters(reporters), place=place, topics=topics,
                              part_of=m.id, day=day + timedelta(days=rng.randint(0, (m.end - day).days)),
                              fate=fate))
        # Statements about it, by its participants
        speakers = [a for a in actors if w.actors[a].kind != "intl"]
        for _ in range(rng.choice([0, 1, 1, 2])):
            if fate not in ("held",) or not speakers:
                break
            s = rng.choice(speakers)
            words, clause = rng.choice(MEETING_WORDS if kind != "Briefing" else GENERAL)
            self.statement(pool, [s], [(SPEAKER, w.actors[s].country)], "regular", words, clause, [m.id],
                           topics, max(day, self.first_day(reporters) - timedelta(days=3)),
                           countries=(w.actors[s].country or x, y))

    def statement(self, pool, speakers, slots, kind, words, clause, about, topics, not_before: date | None,
                  countries: tuple, denies: str | None = None, reporters: list[int] | None = None,
                  products: list[str] | None = None) -> Fact:
        rng = self.rng
        reporters = reporters or self.reporters(pool)
        p0 = self.first_day(reporters)
        day = p0 - timedelta(days=rng.randint(0, 3))
        if not_before and day < not_before <= p0:
            day = not_before
        f = Fact(self.new_id("statement"), "statements", kind, self.n_stories, speakers, slots, reporters,
                 topics=topics, about=about, denies=denies, day=day)
        f.words = cap(self.fill(words, countries, products))
        f.clause = self.fill(clause, countries, products)
        return self.add(f)

    def fill(self, template: str, countries: tuple, products: list[str] | None) -> str:
        x, y = countries
        product = self.world.products[products[0]][2][-1] if products else "key industrial materials"
        return template.format(X=country_name(x) if x else "the government",
                               Y=country_name(y) if y else "its partners", P=product)

    def measure_story(self, center: int, pool: list[int]) -> None:
        rng, w = self.rng, self.world
        x = w.country()
        y = w.country({x})
        kind = rng.choices(["ExportControl", "ListRemoval", "DisputeAction", "WTOAction"], [45, 15, 20, 20])[0]
        if kind == "WTOAction" and not any(a.id == "wto" for a in w.actors.values()):
            kind = "DisputeAction"
        imposer = w.pick(("gov", "ministry") if kind != "WTOAction" else ("gov",), x)
        target = w.pick(("gov",), y)
        reporters = self.reporters(pool, center)
        p0 = self.first_day(reporters)
        announced = p0 - timedelta(days=rng.randint(-2, 6))
        products = []
        if kind in ("ExportControl", "DisputeAction"):
            products = sorted(rng.sample(sorted(w.products), rng.choice([1, 1, 2])))
        topics = sorted({"trade-dispute", {"ExportControl": "export-controls", "ListRemoval": "export-controls",
                                           "DisputeAction": "tariffs", "WTOAction": "wto-dispute-settlement"}[kind]})
        fate = "withdrawn" if rng.random() < 0.04 else "normal"
        m = self.add(Fact(self.new_id(slug(kind)), "measures", kind, self.n_stories, [imposer.id, target.id],
                          [(("gov", "ministry") if kind != "WTOAction" else ("gov",), x), (("gov",), y)],
                          reporters, topics=topics, products=products, day=announced, fate=fate))
        if kind in ("ExportControl", "ListRemoval"):
            m.effective = announced + timedelta(days=rng.randint(8, 25))
        about = [m.id]
        cs = (x, y)
        if rng.random() < 0.7:
            s, slot = self.side(x)
            words, clause = rng.choice(DEFEND)
            self.statement(pool, [s.id], [slot], "regular", words, clause, about, topics, announced, cs,
                           products=products)
        if rng.random() < 0.7:
            s, slot = self.side(y)
            words, clause = rng.choice(PROTEST)
            self.statement(pool, [s.id], [slot], "regular", words, clause, about, topics, announced, (y, x),
                           products=products)
        if rng.random() < 0.3:
            s, slot = self.side(x)
            words, clause, denial = rng.choice(ALLEGATIONS)
            alleg = self.statement(pool, [s.id], [slot], "allegation", words, clause, about, topics, announced, cs,
                                   products=products)
            d, dslot = self.side(y)
            self.statement(pool, [d.id], [dslot], "denial", "", denial, about + [alleg.id], topics,
                           alleg.day, (y, x), denies=alleg.id, products=products)
        if rng.random() < 0.25 and len(w.countries) > 2:
            z = w.country({x, y})
            s, slot = self.side(z)
            self.statement(pool, [s.id], [slot], "refusal", "", rng.choice(REFUSALS), about,
                           topics + ["mediation"] if "mediation" not in topics else topics, None, cs)
        if kind != "WTOAction" and rng.random() < 0.25 and "wto" in w.actors:
            r = self.reporters(pool)
            self.add(Fact(self.new_id("wtoaction"), "measures", "WTOAction", self.n_stories, [target.id, imposer.id],
                          [(("gov",), y), (("gov", "ministry"), x)], r,
                          topics=["trade-dispute", "wto-dispute-settlement"],
                          day=max(announced, self.first_day(r) - timedelta(days=rng.randint(0, 4)))))

    def statement_story(self, center: int, pool: list[int], speaker: Actor | None = None) -> None:
        rng, w = self.rng, self.world
        x = speaker.country if speaker and speaker.country else w.country()
        y = w.country({x})
        if speaker is None:
            speaker, slot = self.side(x)
        else:
            slot = (SPEAKER, None)
        topics = sorted(rng.sample([t[0] for t in TOPICS], rng.randint(1, 2)))
        words, clause = rng.choice(GENERAL)
        reporters = self.reporters(pool, center)
        if rng.random() < 0.06 and w.chooser(("gov",), None) and speaker.kind == "gov":
            other = w.pick(("gov",), y, {speaker.id})
            self.statement(pool, [speaker.id, other.id], [slot, (("gov",), None)], "regular",
                           "We will work together to keep trade open", "the two governments would work together "
                           "to keep trade open", [], topics, None, (x, y), reporters=reporters)
        else:
            self.statement(pool, [speaker.id], [slot], "regular", words, clause, [], topics, None, (x, y),
                           reporters=reporters)
        if rng.random() < 0.4:
            s, sl = self.side(y)
            words, clause = rng.choice(GENERAL)
            self.statement(pool, [s.id], [sl], "regular", words, clause, [], topics, None, (y, x))
        if rng.random() < 0.2 and len(w.countries) > 2:
            s, sl = self.side(w.country({x, y}))
            self.statement(pool, [s.id], [sl], "refusal", "", rng.choice(REFUSALS), [], topics, None, (x, y))

    # -- coverage: every registry actor takes part in something ------------------------------
    def cover(self) -> None:
        rng, w = self.rng, self.world
        uses: dict[str, int] = {}
        for f in self.facts:
            for a in f.actors:
                uses[a] = uses.get(a, 0) + 1
        order = list(range(len(self.facts)))
        for a in sorted(w.actors.values(), key=lambda a: a.id):
            if a.kind in ("outlet", "wire") or uses.get(a.id, 0) > 0:
                continue
            rng.shuffle(order)
            done = False
            for i in order:
                f = self.facts[i]
                if a.id in f.actors:
                    continue
                for k, (kinds, country) in enumerate(f.slots):
                    old = f.actors[k]
                    if a.kind in kinds and (country is None or country == a.country) and uses[old] > 1:
                        if f.section == "measures" and a.country == w.actors[f.actors[1 - k]].country:
                            continue
                        f.actors[k] = a.id
                        uses[old] -= 1
                        uses[a.id] = 1
                        done = True
                        break
                if done:
                    break
            if not done:
                self.n_stories += 1
                center = rng.randrange(len(self.published))
                self.statement_story(center, self.pool(center), speaker=a)
                for f in self.facts:
                    if f.story == self.n_stories:
                        for x in f.actors:
                            uses[x] = uses.get(x, 0) + 1

    def labels(self) -> None:
        w = self.world
        for f in self.facts:
            names = [w.actors[a].label for a in f.actors]
            month = f"{MONTHS[f.day.month - 1]} {f.day.year}"
            if f.section == "meetings":
                place = w.places[f.place].label if f.place else None
                if f.type in ("Talks", "PhoneCall"):
                    kind = "Talks" if f.type == "Talks" else "Phone call"
                    f.label = f"{kind} between {', '.join(names[:-1])} and {names[-1]} ({month})"
                elif f.type == "Visit":
                    f.label = f"{names[0]}'s visit to {place} ({month})"
                elif f.type == "Briefing":
                    f.label = f"Press briefing by {names[0]} ({month})"
                else:
                    f.label = f"Multilateral meeting in {place} ({month})"
            elif f.section == "measures":
                prods = " and ".join(w.products[p][1].lower() for p in f.products)
                if f.type == "ExportControl":
                    f.label = f"{names[0]}: export controls on {prods} to {names[1]} ({month})"
                elif f.type == "ListRemoval":
                    f.label = f"{names[0]} removes {names[1]} from its list of trusted trading partners ({month})"
                elif f.type == "DisputeAction":
                    f.label = f"{names[0]}: retaliatory tariffs on {prods} from {names[1]} ({month})"
                else:
                    f.label = f"{names[0]} raises a case against {names[1]} at the WTO ({month})"
            else:
                who = " and ".join(names)
                if f.type == "refusal":
                    f.label = f"{who} declines to comment on {f.clause}"
                elif f.type == "denial":
                    f.label = f"{who} denies that {f.clause}"
                else:
                    f.label = f"{who}: {f.clause}"


# --------------------------------------------------------------------------------------------
# Writing one article: text with recorded spans, and its annotations
# --------------------------------------------------------------------------------------------

@dataclass
class Report:
    fact: Fact
    claims: dict
    quotes: list[tuple[int, int]]
    dates: dict  # key -> (start, end, extra keys)


class Doc:
    def __init__(self, rng: random.Random, world: World, days: list[date], index: int, tz: str, stem: str) -> None:
        self.rng, self.world, self.published, self.tz, self.stem = rng, world, days[index], tz, stem
        self.days = days
        self.parts: list[str] = []
        self.pos = 0
        self.actor_spans: dict[str, tuple[int, int]] = {}
        self.role_reports: dict[str, tuple] = {}
        self.place_spans: dict[str, tuple[int, int]] = {}
        self.product_spans: dict[str, tuple[int, int]] = {}
        self.reports: list[Report] = []
        self.local_actors: list[Actor] = []
        self.local_facts: list[Fact] = []

    def earlier(self, f: Fact, test) -> bool:
        """Whether an article published before this one reports `f` and passes `test` on its day."""
        return any(self.days[j] < self.published and test(self.days[j]) for j in f.reporters)

    def sentence(self) -> int:
        """Start a sentence: a space after the previous one in the same paragraph."""
        if self.parts and not self.parts[-1].endswith("\n"):
            self.w(" ")
        return self.pos

    def w(self, s: str) -> int:
        start = self.pos
        self.parts.append(s)
        self.pos += len(s)
        return start

    def actor(self, aid: str, capital: bool = False, form: str | None = None) -> None:
        a = self.world.actors.get(aid) or next(x for x in self.local_actors if x.id == aid)
        if aid in self.actor_spans:
            text = a.short
            self.w(cap(text) if capital else text)
            return
        if a.role is not None:
            role = a.role
            acting = role.acting != (self.rng.random() < DISAGREE)
            title = self.rng.choice(role.titles)
            prefix = "acting " if acting else ""
            printed = prefix + title
            if capital:
                printed = cap(printed)
            qs = self.w(printed)
            ts = qs + len(prefix)
            te = self.pos
            self.w(" ")
            ns = self.w(a.label)
            self.actor_spans[aid] = (ns, self.pos)
            self.role_reports[role.id] = (ts, te, qs, self.pos, acting)
            return
        text = form or a.first
        s = self.w(cap(text) if capital else text)
        self.actor_spans[aid] = (s, self.pos)

    def names(self, ids: list[str], capital: bool = False) -> None:
        for i, aid in enumerate(ids):
            if i:
                self.w(" and " if i == len(ids) - 1 else ", ")
            self.actor(aid, capital and i == 0)

    def place(self, pid: str) -> None:
        s = self.w(self.world.places[pid].label)
        self.place_spans.setdefault(pid, (s, self.pos))

    def products(self, pids: list[str]) -> None:
        for i, pid in enumerate(pids):
            if i:
                self.w(" and ")
            s = self.w(self.rng.choice(self.world.products[pid][2]))
            self.product_spans.setdefault(pid, (s, self.pos))

    def date(self, expr: tuple, capital: bool = False) -> tuple:
        printed, extra = expr[0], expr[1]
        s = self.w(cap(printed) if capital else printed)
        return (s, self.pos, extra)

    # -- date expressions --------------------------------------------------------------------
    def expr(self, t: date, coarse: tuple = ("week", "month"), place_tz: str | None = None,
             status_past: bool | None = None) -> tuple:
        """A printed expression that the loader resolves to `t` (or to its week or month) from this
        article's day: (printed, extra spec keys)."""
        p, rng = self.published, self.rng
        d = (t - p).days
        if place_tz and place_tz != self.tz and rng.random() < 0.25:
            got = self.cross_zone(t, place_tz, status_past)
            if got:
                return got
        opts: list[tuple] = []
        wd = WEEKDAYS[t.weekday()]
        if d == 0:
            opts.append(("today", {}))
        if d == -1:
            opts.append(("yesterday", {}))
        if d == 1:
            opts.append(("tomorrow", {}))
        if -6 <= d <= 0:
            opts += [(f"on {wd}", {}), (wd, {})]
        if 1 <= d <= 6:
            opts.append((f"on {wd}", {"tense": "future"}))
        if -10 <= d <= -2:
            opts.append((f"{NUMBER_WORDS[-d]} days ago", {}))
        if t == monday(p) - timedelta(days=7 - t.weekday()):
            opts.append((f"last {wd}", {}))
        if t == monday(p) + timedelta(days=7 + t.weekday()):
            opts.append((f"next {wd}", {}))
        opts.append((f"on {month_day(t, p)}", {}))
        if rng.random() < 0.12:
            mt, mp = monday(t), monday(p)
            coarse_opts = []
            if "week" in coarse:
                if mt == mp - timedelta(days=7):
                    coarse_opts.append(("last week", {}))
                elif mt == mp and d < 0:
                    coarse_opts.append(("earlier this week", {}))
                elif mt == mp and d > 0:
                    coarse_opts.append(("later this week", {}))
                elif mt == mp + timedelta(days=7):
                    coarse_opts.append(("next week", {}))
            if "month" in coarse:
                if (t.year, t.month) == (p.year, p.month):
                    coarse_opts.append(("earlier this month" if d < 0 else "later this month", {}) if d else
                                       ("this month", {}))
                elif first_of_month(p, -1) == first_of_month(t):
                    coarse_opts.append(("last month", {}))
                elif first_of_month(p, 1) == first_of_month(t):
                    coarse_opts.append(("next month", {}))
            if coarse_opts:
                return rng.choice(coarse_opts)
        return rng.choice(opts)

    def cross_zone(self, t: date, place_tz: str, status_past: bool | None) -> tuple | None:
        """"early Saturday (KST)": a day and part of day told in this article's zone that falls on
        `t` where the meeting takes place."""
        rng, p = self.rng, self.published
        here, there = ZoneInfo(self.tz), ZoneInfo(place_tz)
        parts = list(PARTS_OF_DAY)
        rng.shuffle(parts)
        for word, hour, pos in parts:
            for shift in rng.sample([-1, 0, 1], 3):
                day = t + timedelta(days=shift)
                if datetime(day.year, day.month, day.day, hour, tzinfo=here).astimezone(there).date() != t:
                    continue
                d = (day - p).days
                if status_past is True and not -6 <= d <= 0:
                    continue
                if status_past is False and not 1 <= d <= 6:
                    continue
                if not -6 <= d <= 6:
                    continue
                wd = WEEKDAYS[day.weekday()]
                printed = f"{word} {wd}" if pos == "pre" else f"{wd} {word}"
                extra = {"tense": "future"} if d > 0 else {}
                abbr = next((c[5] for c in COUNTRIES if c[4] == self.tz), None)
                if rng.random() < 0.5:
                    printed += f" ({abbr})" if abbr else " (local time)"
                    if abbr:
                        extra = dict(extra, tz=self.tz)
                return (printed, extra)
        return None

    # -- sentences ---------------------------------------------------------------------------
    def tail(self, f: Fact, claims: dict) -> None:
        """", according to X" or ", the Y news agency reported" (via / cites), sometimes."""
        r = self.rng.random()
        if r < 0.06 and len(f.actors) > 1:
            via = self.rng.choice(f.actors)
            self.w(", according to ")
            self.actor(via)
            claims["via"] = via
        elif r < 0.1 and self.world.wires:
            wire = self.world.wires[self.rng.randrange(len(self.world.wires))]
            self.w(", ")
            self.actor(wire.id, form=f"the {wire.label} news agency")
            self.w(" reported")
            claims["cites"] = wire.id

    def meeting(self, f: Fact) -> None:
        rng, p = self.rng, self.published
        day = f.day
        disagree = rng.random() < DISAGREE
        # The status this article gives, from its own day
        if f.fate == "held" or f.fate == "planned":
            if f.type == "Visit" and day <= p < f.end:
                status = "ongoing"
            elif day <= p and (f.type != "Visit" or f.end <= p):
                status = "held"
            else:
                status = "planned"
        elif f.fate == "cancelled":
            status = "cancelled" if day - timedelta(days=2) <= p else "planned"
        elif f.fate == "declined":
            status = "declined" if day <= p else "proposed"
        else:
            status = f.fate
        if disagree and status == "held" and self.earlier(f, lambda q: q >= day):
            status = "planned"  # a status going back
            disagree = False
        claims: dict = {"status": status}
        dates: dict = {}
        place_tz = self.world.places[f.place].tz if f.place else None
        with_date = status in ("held", "planned", "ongoing", "cancelled") and rng.random() < 0.85
        t = day
        if with_date and disagree:
            t = day - timedelta(days=1) if status == "held" else day + timedelta(days=1)
        e = None
        if with_date:
            e = self.expr(t, place_tz=place_tz, status_past=(status == "held") if status in ("held", "planned")
                          else None)
        names = f.actors
        s = self.sentence()
        lead = e is not None and rng.random() < 0.3 and f.type != "Visit"
        if lead:
            dates["date"] = self.date(e, capital=True)
            self.w(", ")
        typ = f.type

        def when() -> None:
            if e is not None and not lead:
                self.w(" ")
                dates["date"] = self.date(e)

        def where(prefix: str = " in ") -> None:
            if f.place:
                self.w(prefix)
                self.place(f.place)

        first = not lead
        if typ in ("Talks", "PhoneCall"):
            a, others = names[0], names[1:]
            verb_call = typ == "PhoneCall"
            if status == "held":
                self.actor(a, first)
                self.w(" spoke by phone with " if verb_call else rng.choice([" held talks with ", " met "]))
                self.names(others)
                where()
                when()
            elif status == "ongoing":
                self.names(names, first)
                self.w(" were holding talks")
                where()
            elif status == "planned":
                self.actor(a, first)
                self.w(" is expected to speak by phone with " if verb_call else " is scheduled to hold talks with ")
                self.names(others)
                where()
                when()
            elif status == "proposed":
                self.actor(a, first)
                self.w(" has proposed a phone call with " if verb_call else " has proposed talks with ")
                self.names(others)
                where()
                self.w(", but no date has been set")
            elif status == "unconfirmed":
                self.w("It was not clear whether " if first else "it was not clear whether ")
                self.actor(a)
                self.w(" would speak with " if verb_call else " would meet ")
                self.names(others)
                where()
            elif status == "declined":
                self.names(others, first)
                self.w(" declined an offer of talks from ")
                self.actor(a)
                where()
            else:  # cancelled
                self.w("A planned meeting between " if first else "a planned meeting between ")
                self.names(names)
                where()
                self.w(" was called off")
                if e is not None and not lead:
                    self.w(", days before it was due to take place ")
                    dates["date"] = self.date(e)
        elif typ == "Visit":
            a = names[0]
            self.actor(a, True)
            if status == "held":
                self.w(" visited ")
                self.place(f.place)
                when()
            elif status == "ongoing":
                self.w(" is in ")
                self.place(f.place)
                self.w(" on a visit")
                if e is not None:
                    self.w(" that began")
                    when()
            elif status == "planned":
                self.w(" will visit ")
                self.place(f.place)
                when()
            elif status == "proposed":
                self.w(" has been invited to visit ")
                self.place(f.place)
            elif status == "unconfirmed":
                self.w(" may travel to ")
                self.place(f.place)
            elif status == "declined":
                self.w(" turned down an invitation to visit ")
                self.place(f.place)
            else:
                self.w(" has cancelled a planned trip to ")
                self.place(f.place)
                when()
            if len(names) > 1:
                self.w(" to meet ")
                self.actor(names[1])
            if status in ("held", "planned", "ongoing") and rng.random() < 0.2 and "date" in dates:
                self.w(", staying until ")
                dates["end"] = self.date((month_day(f.end, p), {}))
        elif typ == "Briefing":
            a = names[0]
            if status == "held":
                self.actor(a, first)
                self.w(" spoke at a press briefing")
                where()
                when()
            else:
                self.actor(a, first)
                self.w({"planned": " is due to give a press briefing", "proposed": " may give a press briefing",
                        "cancelled": " cancelled a press briefing", "declined": " declined to hold a briefing",
                        "unconfirmed": " may give a press briefing", "ongoing": " is giving a press briefing"}[status])
                where()
                if status in ("planned", "cancelled"):
                    when()
        else:  # MultilateralMeeting
            host = names[0] if self.world.actors[names[0]].kind == "intl" else None
            members = names[1:] if host else names
            self.names(members, first)
            self.w({"held": " attended ", "ongoing": " are attending ", "planned": " are expected to attend ",
                    "proposed": " have been invited to ", "cancelled": " will no longer attend ",
                    "declined": " declined to attend ", "unconfirmed": " may attend "}[status])
            if host:
                self.actor(host)
                self.w(" ministerial meetings")
            else:
                self.w("a regional ministerial meeting")
            where()
            if status in ("held", "planned", "cancelled"):
                when()
        self.tail(f, claims)
        quote = (s, self.pos)
        self.w(".")
        self.reports.append(Report(f, claims, [quote], dates))

    def measure(self, f: Fact) -> None:
        rng, p = self.rng, self.published
        imposer, target = f.actors
        announced, effective = f.day, f.effective
        disagree = rng.random() < DISAGREE
        if f.type in ("WTOAction", "DisputeAction"):
            status = "taken" if announced <= p else "proposed"
        elif p < announced:
            status = "proposed"
        elif p < effective:
            status = "planned"
        else:
            status = "in-force"
        if f.fate == "withdrawn" and status in ("in-force", "taken") and p >= f.day + timedelta(days=3):
            status = "withdrawn"
        if disagree and status == "in-force" and self.earlier(f, lambda q: q >= effective):
            status, disagree = "planned", False  # a status going back
        claims: dict = {"status": status}
        dates: dict = {}
        a_day = announced - timedelta(days=1) if disagree else announced
        s = self.sentence()
        typ = f.type
        if typ in ("ExportControl", "ListRemoval"):
            if status == "proposed":
                self.actor(imposer, True)
                if typ == "ExportControl":
                    self.w(" is considering tighter export controls on ")
                    self.products(f.products)
                    self.w(" bound for ")
                    self.actor(target)
                else:
                    self.w(" is considering removing ")
                    self.actor(target)
                    self.w(" from its list of trusted trading partners")
            elif status in ("planned", "in-force") and (status == "planned" or rng.random() < 0.5):
                self.actor(imposer, True)
                self.w(" announced ")
                dates["date"] = self.date(self.expr(a_day))
                if typ == "ExportControl":
                    self.w(" that it would tighten export controls on ")
                    self.products(f.products)
                    self.w(" to ")
                    self.actor(target)
                else:
                    self.w(" that it would remove ")
                    self.actor(target)
                    self.w(" from its list of trusted trading partners")
                self.w(", effective " if status == "planned" else ", and the rules took effect ")
                dates["effective"] = self.date(self.expr(effective, coarse=("week",)))
            elif status == "in-force":
                e = self.expr(effective, coarse=("week",))
                dates["effective"] = self.date(e, capital=True)
                self.w(", ")
                self.actor(imposer)
                if typ == "ExportControl":
                    self.w(" toughened restrictions on exports of ")
                    self.products(f.products)
                    self.w(" to ")
                    self.actor(target)
                else:
                    self.w(" dropped ")
                    self.actor(target)
                    self.w(" from its list of trusted trading partners")
            else:  # withdrawn
                self.actor(imposer, True)
                self.w(" has withdrawn the export controls on " if typ == "ExportControl"
                       else " has restored the trusted-partner status of ")
                if typ == "ExportControl":
                    self.products(f.products)
                    self.w(" to ")
                self.actor(target)
        elif typ == "DisputeAction":
            self.actor(imposer, True)
            if status == "proposed":
                self.w(" is weighing retaliatory tariffs on ")
                self.products(f.products)
                self.w(" from ")
                self.actor(target)
            elif status == "withdrawn":
                self.w(" has lifted its retaliatory tariffs on ")
                self.products(f.products)
                self.w(" from ")
                self.actor(target)
            else:
                self.w(" imposed retaliatory tariffs on ")
                self.products(f.products)
                self.w(" from ")
                self.actor(target)
                self.w(" ")
                dates["date"] = self.date(self.expr(a_day))
        else:  # WTOAction
            self.actor(imposer, True)
            if status == "proposed":
                self.w(" is preparing to file a complaint against ")
                self.actor(target)
                self.w(" with ")
                self.actor("wto")
            elif status == "withdrawn":
                self.w(" has dropped its complaint against ")
                self.actor(target)
                self.w(" at ")
                self.actor("wto")
            else:
                self.w(" raised the case against ")
                self.actor(target)
                self.w(" at ")
                self.actor("wto")
                self.w(" ")
                dates["date"] = self.date(self.expr(a_day))
        if status in ("planned", "in-force", "taken", "proposed") and rng.random() < 0.2 and typ != "WTOAction":
            self.w(", citing ")
            j = rng.choice(["national security concerns", "a breakdown of trust", "unfair trade practices",
                            "lax export management"])
            self.w(j)
            claims["justification"] = j
        self.tail(f, claims)
        quote = (s, self.pos)
        self.w(".")
        self.reports.append(Report(f, claims, [quote], dates))

    def statement(self, f: Fact) -> None:
        rng = self.rng
        disagree = rng.random() < DISAGREE
        day = f.day - timedelta(days=1) if disagree else f.day
        e = self.expr(day) if rng.random() < 0.8 else None
        claims: dict = {}
        dates: dict = {}
        quotes = []
        speakers = f.actors
        if f.type == "regular" and rng.random() < 0.55:
            claims["mode"] = "direct-quote"
            self.sentence()
            self.w('"')
            ws = self.w(f.words)
            quotes.append((ws, self.pos))
            self.w(',"')
            self.w(" ")
            s = self.pos
            self.names(speakers)
            if rng.random() < 0.3:
                self.w(" told reporters")
                claims["audience"] = "reporters"
            else:
                self.w(" said")
            if e is not None:
                self.w(" ")
                dates["date"] = self.date(e)
            if e is not None or len(self.reports) % 2:
                quotes.append((s, self.pos))
            self.tail(f, claims)
            self.w(".")
        else:
            s = self.sentence()
            if f.type == "refusal":
                self.names(speakers, True)
                self.w(" declined to comment on ")
                self.w(f.clause)
                claims["mode"] = "refusal-to-comment"
                if e is not None:
                    self.w(" when asked ")
                    dates["date"] = self.date(e)
            else:
                self.names(speakers, True)
                verb = {"regular": " said", "allegation": " alleged", "denial": " denied"}[f.type]
                claims["mode"] = {"regular": "reported-speech", "allegation": "allegation", "denial": "denial"}[f.type]
                self.w(verb)
                if e is not None:
                    self.w(" ")
                    dates["date"] = self.date(e)
                self.w(" that ")
                self.w(f.clause)
            self.tail(f, claims)
            quotes.append((s, self.pos))
            self.w(".")
        self.reports.append(Report(f, claims, quotes, dates))

    def local_statement(self, about: Fact, index: int) -> None:
        """An unnamed official, defined in this article, and what they said."""
        rng = self.rng
        code = next((self.world.actors[a].country for a in about.actors if self.world.actors[a].country),
                    self.world.country_order[0])
        dem = self.world.countries[code][2]
        official = Actor(f"unnamed-{code}-official-{self.stem.split('_')[0]}", "local",
                         f"A senior {dem} official", [f"senior {dem} official"],
                         f"a senior {dem} official", "the official", code)
        self.local_actors.append(official)
        words, clause = rng.choice(GENERAL)
        other = next((self.world.actors[a].country for a in about.actors
                      if self.world.actors[a].country not in (None, code)), None)
        clause = clause.format(X=country_name(code), Y=country_name(other) if other else "its neighbours", P="")
        f = Fact(f"{official.id}-remark", "statements", "regular", 0, [official.id], [], [index],
                 topics=about.topics[:1], about=[about.id], day=self.published, local=index,
                 label=f"An unnamed {dem} official: {clause}", clause=clause)
        self.local_facts.append(f)
        s = self.sentence()
        self.actor(official.id, True)
        self.w(", speaking on condition of anonymity, said that ")
        self.w(clause)
        quote = (s, self.pos)
        self.w(".")
        self.reports.append(Report(f, {"mode": "reported-speech"}, [quote], {}))

    def text(self) -> str:
        return "".join(self.parts)


# --------------------------------------------------------------------------------------------
# YAML emission (by hand: fast, and the output is fixed by the input)
# --------------------------------------------------------------------------------------------

def q(s: str) -> str:
    return json.dumps(s)


def ids(xs: list[str]) -> str:
    return "[" + ", ".join(xs) + "]"


class Locator:
    """Quote specs for spans of one text: the words, and their occurrence when they recur."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cache: dict[str, list[int]] = {}

    def spec(self, span: tuple[int, int]) -> str:
        s, e = span
        exact = self.text[s:e]
        starts = self.cache.get(exact)
        if starts is None:
            starts, i = [], self.text.find(exact)
            while i >= 0:
                starts.append(i)
                i = self.text.find(exact, i + 1)
            self.cache[exact] = starts
        if len(starts) == 1:
            return q(exact)
        return "{exact: %s, occurrence: %d}" % (q(exact), starts.index(s) + 1)

    def specs(self, spans: list[tuple[int, int]]) -> str:
        if len(spans) == 1:
            return self.spec(spans[0])
        return "[" + ", ".join(self.spec(sp) for sp in spans) + "]"


def date_yaml(text: str, d: tuple) -> str:
    s, e, extra = d
    expr = text[s:e]
    if not extra:
        return q(expr)
    keys = [f"expr: {q(expr)}"] + [f"{k}: {v}" for k, v in sorted(extra.items())]
    return "{" + ", ".join(keys) + "}"


def fact_definition_lines(f: Fact, indent: str) -> list[str]:
    lines = []
    if f.section == "statements":
        lines.append(f"{indent}speaker: {f.actors[0] if len(f.actors) == 1 else ids(f.actors)}")
    else:
        lines.append(f"{indent}type: {f.type}")
    lines.append(f"{indent}label: {q(f.label)}")
    if f.section == "meetings":
        lines.append(f"{indent}participants: {ids(f.actors)}")
        if f.place:
            lines.append(f"{indent}place: {f.place}")
        if f.part_of:
            lines.append(f"{indent}part_of: {f.part_of}")
    elif f.section == "measures":
        lines.append(f"{indent}imposer: {f.actors[0]}")
        if len(f.actors) > 1 and f.actors[1]:
            lines.append(f"{indent}target: {f.actors[1]}")
        if f.products:
            lines.append(f"{indent}products: {ids(f.products)}")
    if f.topics:
        lines.append(f"{indent}topics: {ids(f.topics)}")
    if f.section == "statements":
        if f.about:
            lines.append(f"{indent}about: {ids(f.about)}")
        if f.denies:
            lines.append(f"{indent}denies: {f.denies}")
    return lines


def registry_fact(f: Fact) -> str:
    body = ", ".join(line.strip() for line in fact_definition_lines(f, ""))
    return f"  - {{id: {f.id}, {body}}}\n"


def article_yaml(doc: Doc, art: dict, world: World) -> str:
    text = doc.text()
    loc = Locator(text)
    out = [f"# Synthetic article {doc.stem} (bench/generate.py). Format: docs/annotations.md\n\n", "article:\n"]
    out.append(f"  title: {loc.spec(art['title'])}\n")
    out.append(f"  publisher: {art['publisher']}\n")
    out.append(f"  publisher_basis: {q('the footer reads: ' + text[art['footer'][0]:art['footer'][1]])}\n")
    out.append(f"  wire_services: {ids([art['wire']] if art['wire'] else [])}\n")
    out.append(f"  authors: {ids([art['author']] if art['author'] else [])}\n")
    out.append(f"  published: {art['published'].isoformat()}\n")
    out.append(f"  timezone: {art['tz']}\n")
    p = art["published"]
    out.append("  date_basis: " + q(f"Synthetic: the story is dated {WEEKDAYS[p.weekday()]} {p.isoformat()} in "
                                   f"{art['tz']}; its relative dates count from that day.") + "\n")
    evidence = [r.quotes[-1] for r in doc.reports if "date" in r.dates][:2]
    if evidence:
        out.append("  date_evidence:\n")
        for sp in evidence:
            out.append(f"    - {loc.spec(sp)}\n")
    out.append("\nactors:\n")
    local = {a.id: a for a in doc.local_actors}
    for aid in sorted(doc.actor_spans):
        spec = loc.spec(doc.actor_spans[aid])
        a = local.get(aid)
        if a is None:
            out.append(f"  - {{id: {aid}, quote: {spec}}}\n")
        else:
            out.append(f"  - {{id: {aid}, type: Person, label: {q(a.label)}, "
                       f"aliases: [{', '.join(q(x) for x in a.aliases)}], quote: {spec}}}\n")
    if doc.place_spans:
        out.append("\nplaces:\n")
        for pid in sorted(doc.place_spans):
            out.append(f"  - {{id: {pid}, quote: {loc.spec(doc.place_spans[pid])}}}\n")
    if doc.product_spans:
        out.append("\nproducts:\n")
        for pid in sorted(doc.product_spans):
            out.append(f"  - {{id: {pid}, quote: {loc.spec(doc.product_spans[pid])}}}\n")
    if doc.role_reports:
        out.append("\nroles:\n")
        for rid in sorted(doc.role_reports):
            ts, te, qs, qe, acting = doc.role_reports[rid]
            out.append(f"  - id: {rid}\n    title: {q(text[ts:te])}\n")
            if acting:
                out.append("    acting: true\n")
            out.append(f"    quote: {loc.spec((qs, qe))}\n")
    for section in ("meetings", "measures", "statements"):
        reps = sorted((r for r in doc.reports if r.fact.section == section), key=lambda r: r.fact.id)
        if not reps:
            continue
        out.append(f"\n{section}:\n")
        for r in reps:
            f = r.fact
            out.append(f"  - id: {f.id}\n")
            if f.local is not None:
                out.extend(line + "\n" for line in fact_definition_lines(f, "    "))
            for key in ("status", "mode"):
                if key in r.claims:
                    out.append(f"    {key}: {r.claims[key]}\n")
            for key in ("date", "end", "effective"):
                if key in r.dates:
                    out.append(f"    {key}: {date_yaml(text, r.dates[key])}\n")
            for key in ("justification", "audience"):
                if key in r.claims:
                    out.append(f"    {key}: {q(r.claims[key])}\n")
            for key in ("via", "cites"):
                if key in r.claims:
                    out.append(f"    {key}: {r.claims[key]}\n")
            out.append(f"    quote: {loc.specs(r.quotes)}\n")
    return "".join(out)


def registry_yaml(world: World, plot: Plot, used_places: set, used_products: set) -> str:
    out = ["# Synthetic registry (bench/generate.py): entities and facts several articles share.\n",
           "# Definitions only; every report lives in an article file (docs/annotations.md).\n\nactors:\n"]
    for a in sorted(world.actors.values(), key=lambda a: a.id):
        typ = {"gov": "Government", "person": "Person"}.get(a.kind, "Organization")
        parts = [f"id: {a.id}", f"type: {typ}", f"label: {q(a.label)}"]
        if a.kind == "gov":
            parts.append(f"country: {q(a.country_name)}")
        if a.part_of:
            parts.append(f"part_of: {a.part_of}")
        parts.append(f"aliases: [{', '.join(q(x) for x in a.aliases)}]")
        out.append("  - {" + ", ".join(parts) + "}\n")
    out.append("\nplaces:\n")
    for pid in sorted(used_places):
        pl = world.places[pid]
        out.append(f"  - {{id: {pid}, label: {q(pl.label)}, timezone: {pl.tz}}}\n")
    if used_products:
        out.append("\nproducts:\n")
        for pid in sorted(used_products):
            _, label, aliases = world.products[pid]
            out.append(f"  - {{id: {pid}, label: {q(label)}, aliases: [{', '.join(q(x) for x in aliases)}]}}\n")
    out.append("\ntopics:\n")
    for tid, label, definition in TOPICS:
        out.append(f"  - {{id: {tid}, label: {q(label)}, definition: {q(definition)}}}\n")
    out.append("\nroles:\n")
    for r in sorted(world.roles.values(), key=lambda r: r.id):
        out.append(f"  - {{id: {r.id}, person: {r.person}, organization: {r.org}, label: {q(r.label)}}}\n")
    for section in ("meetings", "measures", "statements"):
        out.append(f"\n{section}:\n")
        for f in sorted((f for f in plot.facts if f.section == section and f.local is None), key=lambda f: f.id):
            out.append(registry_fact(f))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Defects: things the loader accepts and SHACL must reject
# --------------------------------------------------------------------------------------------

DEFECT_KINDS = ["unreported-fact", "talks-one-participant", "denial-without-denies", "self-imposed-measure",
                "visit-without-place"]


def plant_defects(rng: random.Random, plot: Plot, k: int) -> list[dict]:
    planted: list[dict] = []
    taken: set[str] = set()
    registry = [f for f in plot.facts if f.local is None]

    def candidates(pred) -> list[Fact]:
        return [f for f in registry if f.id not in taken and pred(f)]

    # A fact another fact names (part_of, about, denies) stays intact, so one defect gives one violation.
    named = {f.part_of for f in registry} | {a for f in registry for a in f.about} | {f.denies for f in registry}
    for i in range(k):
        kind = DEFECT_KINDS[i % len(DEFECT_KINDS)]
        pool = {
            "talks-one-participant": lambda f: f.type == "Talks",
            "denial-without-denies": lambda f: f.type == "denial",
            "self-imposed-measure": lambda f: f.section == "measures",
            "visit-without-place": lambda f: f.type == "Visit" and f.id not in named,
        }.get(kind)
        choice = candidates(pool) if pool else []
        if pool and not choice:
            kind = "unreported-fact"
        if kind == "unreported-fact":
            a, b = rng.sample(sorted(a.id for a in plot.world.actors.values() if a.kind == "gov"), 2)
            f = plot.add(Fact(plot.new_id("unreported-talks"), "meetings", "Talks", 0, [a, b], [], [],
                              topics=["diplomatic-relations"], day=START))
            f.label = f"Talks between {plot.world.actors[a].label} and {plot.world.actors[b].label} (never reported)"
        else:
            f = rng.choice(choice)
            if kind == "talks-one-participant":
                f.actors = f.actors[:1]
            elif kind == "denial-without-denies":
                f.denies = None
            elif kind == "self-imposed-measure":
                f.actors = [f.actors[0], f.actors[0]]
            else:
                f.place = None
        taken.add(f.id)
        planted.append({"kind": kind, "id": f.id})
    return sorted(planted, key=lambda d: (d["kind"], d["id"]))


# --------------------------------------------------------------------------------------------
# The whole corpus
# --------------------------------------------------------------------------------------------

def articles_for(triples: int) -> int:
    """The number of articles whose built graph has about `triples` triples (see CALIBRATION)."""
    points = CALIBRATION
    for (a0, t0), (a1, t1) in zip(points, points[1:]):
        if triples <= t1 or (a1, t1) == points[-1]:
            return max(2, round(a0 + (triples - t0) * (a1 - a0) / (t1 - t0)))
    raise AssertionError("unreachable")


def generate(triples: int, out: Path, seed: int, defects: int = 0) -> dict:
    """Write the corpus for about `triples` built triples into `out`; returns the summary."""
    out = Path(out)
    rng = random.Random(seed)
    n = articles_for(triples)
    world = World(rng, n)
    # Publication days: a few articles a day from START.
    span = max(7, min(400, n // 3))
    published = sorted(START + timedelta(days=rng.randrange(span)) for _ in range(n))
    plot = Plot(rng, world, published)
    stories = [0] * n
    for c in range(n):
        while stories[c] < STORIES_PER_ARTICLE:
            before = len(plot.facts)
            plot.story(c)
            for f in plot.facts[before:]:
                for i in f.reporters:
                    stories[i] += 1
    plot.cover()
    plot.labels()
    # Who publishes what: every outlet and wire service at least once, then by Zipf.
    pubs = Zipf(world.publishers)
    order = list(range(n))
    rng.shuffle(order)
    publisher = {i: (world.publishers[k] if k < len(world.publishers) else pubs.pick(rng)) for k, i in enumerate(order)}
    wires = Zipf(world.wires)
    rng.shuffle(order)
    wire = {i: (world.wires[k] if k < len(world.wires) else (wires.pick(rng) if rng.random() < 0.45 else None))
            for k, i in enumerate(order)}
    by_article: list[list[Fact]] = [[] for _ in range(n)]
    for f in plot.facts:
        for i in f.reporters:
            by_article[i].append(f)

    seeds = out / "seeds"
    if seeds.exists():
        shutil.rmtree(seeds)
    seeds.mkdir(parents=True)
    for sub in ("ontology", "queries"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        shutil.copytree(REPO / sub, out / sub)

    width = max(3, len(str(n - 1)))
    n_reports = n_local = 0
    reported: set[str] = set()
    for i in range(n):
        stem = f"{i:0{width}d}_{rng.getrandbits(64):016x}"
        pub = publisher[i]
        tz = world.countries[pub.country][4]
        doc = Doc(rng, world, published, i, tz, stem)
        facts = sorted(by_article[i], key=lambda f: f.story)  # stable: fact order within a story
        main = facts[0] if facts else None
        title = cap(headline(world, main)) if main else "Trade officials keep talking"
        ts = doc.w(title)
        art = {"title": (ts, doc.pos), "publisher": pub.id, "wire": wire[i].id if wire[i] else None,
               "published": published[i], "tz": tz, "author": None}
        doc.w("\n\n")
        if rng.random() < 0.3:
            given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
            author = Actor(f"{slug(given + '-' + surname)}-{stem.split('_')[0]}", "local", f"{given} {surname}",
                           [f"{given} {surname}"], f"{given} {surname}", surname)
            doc.local_actors.append(author)
            doc.w("By ")
            doc.actor(author.id)
            doc.w("\n\n")
            art["author"] = author.id
        story = None
        for f in facts:
            if f.story != story and story is not None:
                if rng.random() < 0.2:
                    doc.sentence()
                    doc.w(rng.choice(FILLER))
                doc.w("\n\n")
            story = f.story
            {"meetings": doc.meeting, "measures": doc.measure, "statements": doc.statement}[f.section](f)
        if main is not None and rng.random() < 0.5:
            doc.w("\n\n")
            doc.local_statement(main, i)
        if wire[i]:
            doc.w(" (")
            doc.actor(wire[i].id)
            doc.w(")")
        doc.w("\n\n")
        fs = doc.w("Copyright ")
        doc.actor(pub.id)
        doc.w(". All rights reserved.\n")
        art["footer"] = (fs, doc.pos - 1)
        (seeds / f"{stem}.txt").write_text(doc.text(), encoding="utf-8")
        (seeds / f"{stem}.yaml").write_text(article_yaml(doc, art, world), encoding="utf-8")
        n_reports += len(doc.reports) + len(doc.actor_spans) + len(doc.role_reports) + len(doc.place_spans) \
            + len(doc.product_spans)
        n_local += len(doc.local_actors) + len(doc.local_facts)
        reported |= set(doc.actor_spans) | set(doc.role_reports) | {r.fact.id for r in doc.reports} \
            | set(doc.place_spans) | set(doc.product_spans)
    used_places = {f.place for f in plot.facts if f.place}
    used_products = {p for f in plot.facts for p in f.products}
    # Every registry entry has a report (SHACL wants evidence for each) before defects are planted.
    unreported = sorted((set(world.actors) | set(world.roles) | {f.id for f in plot.facts if f.local is None}
                         | used_places | used_products) - reported)
    if unreported:
        raise RuntimeError(f"generator bug: registry entries nobody reports: {', '.join(unreported[:10])}")
    # Defects go into the registry only, after the texts are written from the intact facts.
    planted = plant_defects(rng, plot, defects)
    (seeds / "registry.yaml").write_text(registry_yaml(world, plot, used_places, used_products), encoding="utf-8")
    (out / "defects.json").write_text(json.dumps(planted, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    registry_entities = (len(world.actors) + len(used_places) + len(used_products) + len(TOPICS) + len(world.roles)
                         + sum(1 for f in plot.facts if f.local is None))
    return {"articles": n, "registry_entities": registry_entities, "reports": n_reports,
            "local_definitions": n_local, "facts": sum(1 for f in plot.facts if f.local is None),
            "target_triples": triples, "seed": seed, "defects": len(planted)}


def headline(world: World, f: Fact) -> str:
    def country(aid: str) -> str:
        a = world.actors[aid]
        return country_name(a.country) if a.country else a.label
    xs = [country(a) for a in f.actors]
    if f.section == "meetings":
        return {"Talks": f"{xs[0]}, {xs[-1]} officials meet over trade row",
                "PhoneCall": f"{xs[0]} and {xs[-1]} leaders talk by phone",
                "Visit": f"{xs[0]} envoy heads abroad as trade row simmers",
                "Briefing": f"{xs[0]} briefs reporters on trade tensions",
                "MultilateralMeeting": "Regional ministers gather amid trade tensions"}[f.type]
    if f.section == "measures":
        return f"{xs[0]} steps up trade pressure on {xs[1]}" if len(xs) > 1 else f"{xs[0]} acts on trade"
    return f"{xs[0]} weighs in on trade dispute"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, required=True, help="target size of the built union graph")
    parser.add_argument("--out", type=Path, required=True, help="project directory to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--defects", type=int, default=0, help="plant K defects SHACL must catch")
    args = parser.parse_args()
    t0 = time.perf_counter()
    summary = generate(args.triples, args.out, args.seed, args.defects)
    print(f"generated {summary['articles']} articles, {summary['registry_entities']} registry entities "
          f"({summary['facts']} facts), {summary['reports']} reports, {summary['defects']} defects "
          f"in {time.perf_counter() - t0:.1f}s -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
