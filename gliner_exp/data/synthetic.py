"""A small, deterministic, learnable NER corpus generated from a seed.

Template sentences are filled with entities of five types (person, city,
organization, date, product), some multi-word, 0-3 per sentence, plus plain
sentences without entities. Each split draws from its own ``random.Random``
seeded from ``(seed, split)``, so the result never depends on global random
state, and dev/test are different sentences from train.
"""

import random
from typing import Dict, List

FIRST_NAMES = (
    "Alice Maria James Sofia David Emma Liam Olivia Noah Ava Lucas Mia Ethan Isabella Mateo Chloe "
    "Hiroshi Priya Ahmed Fatima Ivan Elena Kwame Amara Chen Mei Pablo Lucia Oliver Grace Samuel Nora"
).split()
LAST_NAMES = (
    "Smith Johnson Garcia Müller Rossi Dubois Tanaka Patel Khan Ivanova Okafor Nguyen Silva Kowalski "
    "Andersen Murphy Becker Moreau Costa Schmidt Novak Jensen Lopez Walker Hughes Fischer Larsen Romano"
).split()
TITLES = ("Dr.", "Professor", "Mr.", "Ms.", "Senator", "Judge")

CITIES = (
    "Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Oslo", "Prague", "Dublin",
    "Tokyo", "Osaka", "Seoul", "Mumbai", "Nairobi", "Lagos", "Cairo", "Toronto", "Chicago", "Boston",
    "Denver", "Seattle", "Melbourne", "Auckland", "Lima", "Bogota", "Montreal", "Hamburg", "Marseille",
    "New York", "San Francisco", "Los Angeles", "Buenos Aires", "Rio de Janeiro", "Cape Town",
    "Hong Kong", "Kuala Lumpur", "Mexico City", "Tel Aviv", "St. Petersburg", "New Delhi",
)

ORGANIZATIONS = (
    "Google", "Microsoft", "Siemens", "Toyota", "Nestlé", "Unilever", "Spotify", "Airbus", "Oracle",
    "Reuters", "UNICEF", "NASA", "Interpol", "Greenpeace", "Deloitte", "Philips", "Samsung", "Nokia",
    "United Nations", "World Bank", "Red Cross", "European Commission", "General Electric",
    "Deutsche Bank", "Goldman Sachs", "Harvard University", "Stanford University",
    "Northwind Traders", "Acme Corporation", "Blue Harbor Logistics", "Greenfield Energy Group",
    "Atlas Shipping Company", "Bright Path Foundation", "Silverline Media",
)

PRODUCTS = (
    "iPhone", "Kindle", "Walkman", "Prius", "Xbox", "Roomba", "Vespa", "Thermomix", "Tamagotchi",
    "PlayStation 5", "Galaxy S21", "Model 3", "Surface Pro", "Pixel 8", "ThinkPad X1", "Apple Watch",
    "Echo Dot", "Nintendo Switch", "GoPro Hero", "Kindle Paperwhite", "AirPods Pro", "Corolla",
    "Nova X200 drone", "Zephyr e-bike", "Aurora smart lamp", "Orbit 7 headphones",
)

MONTHS = (
    "January February March April May June July August September October November December"
).split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()

# Slots are written {slot} (see _SLOTS); every other word is copied as a token.
# {day} reads after "on", {period} after "in"; both are labelled "date".
TEMPLATES = (
    "{person} moved to {city} in {period} .",
    "{person} was born in {city} .",
    "{person} joined {organization} as a senior engineer .",
    "{organization} opened a new office in {city} on {day} .",
    "{organization} unveiled the {product} at a press event in {city} .",
    "On {day} , {person} announced that {organization} would cut prices .",
    "The {product} went on sale in {city} on {day} .",
    "{person} bought a {product} last week .",
    "Critics praised the {product} for its battery life .",
    "{person} and {person} met in {city} to discuss the merger .",
    "{organization} hired {person} to lead its research team .",
    "According to {organization} , sales of the {product} doubled .",
    "{person} , a spokesperson for {organization} , declined to comment .",
    "Flights between {city} and {city} were cancelled on {day} .",
    "{organization} reported record profits for the quarter ending {day} .",
    "The conference will take place in {city} in {period} .",
    "{person} reviewed the {product} and called it disappointing .",
    "Shares of {organization} rose sharply after the announcement .",
    "{person} lives in {city} with two cats .",
    "The mayor of {city} , {person} , visited the factory .",
    "{organization} recalled thousands of {product} units in {period} .",
    "{person} is expected to testify before the committee on {day} .",
    "A new museum dedicated to modern art opened in {city} .",
    "{organization} and {organization} signed a partnership agreement .",
    "Engineers at {organization} spent three years designing the {product} .",
    "{person} grew up near {city} and studied economics .",
    "The deadline for applications is {day} .",
    "Thousands of fans gathered in {city} to celebrate the victory .",
    "{person} wrote a memoir about her years at {organization} .",
    "Tickets for the festival in {city} sold out on {day} .",
)

# Entity-free sentences, some with capitalized words, so the model learns that
# capitalization alone does not make an entity.
NEGATIVES = (
    "The weather stayed mild for most of the week .",
    "Prices for fresh vegetables have climbed steadily .",
    "Nobody expected the meeting to last that long .",
    "The committee will publish its findings later .",
    "She opened the window and listened to the rain .",
    "Most analysts remain cautious about the outlook .",
    "The river flooded several fields after the storm .",
    "It was the best performance of the season .",
    "Parents raised concerns about the new school schedule .",
    "The old bridge will be closed for repairs .",
    "Several volunteers helped clean up the park .",
    "The Board said the Report was accurate .",
    "Breakfast is served until ten in the morning .",
    "The recipe calls for two cups of flour .",
    "Residents complained about the noise from the construction site .",
)

NEGATIVE_RATE = 0.15
PREFIXES = ("Meanwhile ,", "In a statement ,", "Earlier this year ,", "As expected ,", "Surprisingly ,")
PREFIX_RATE = 0.15


def _person(rng: random.Random) -> List[str]:
    r = rng.random()
    if r < 0.55:
        return [rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)]
    if r < 0.75:
        return [rng.choice(TITLES), rng.choice(LAST_NAMES)]
    if r < 0.85:
        return [rng.choice(FIRST_NAMES), rng.choice(FIRST_NAMES)[0] + ".", rng.choice(LAST_NAMES)]
    return [rng.choice(FIRST_NAMES)]


def _day(rng: random.Random) -> List[str]:
    """A date that reads after "on": "March 3 , 2019", "3 March 2019", "Monday"."""
    month, day, year = rng.choice(MONTHS), str(rng.randint(1, 28)), str(rng.randint(1990, 2030))
    r = rng.random()
    if r < 0.45:
        return [month, day, ",", year]
    if r < 0.8:
        return [day, month, year]
    if r < 0.9:
        return [month, day]
    return [rng.choice(WEEKDAYS)]


def _period(rng: random.Random) -> List[str]:
    """A date that reads after "in": "June 2018", "2018", "early 2018"."""
    year = str(rng.randint(1990, 2030))
    r = rng.random()
    if r < 0.5:
        return [rng.choice(MONTHS), year]
    if r < 0.8:
        return [year]
    return [rng.choice(("early", "late", "mid")), year]


# slot -> (label, filler)
_SLOTS = {
    "person": ("person", _person),
    "city": ("city", lambda rng: rng.choice(CITIES).split()),
    "organization": ("organization", lambda rng: rng.choice(ORGANIZATIONS).split()),
    "day": ("date", _day),
    "period": ("date", _period),
    "product": ("product", lambda rng: rng.choice(PRODUCTS).split()),
}


def _sentence(rng: random.Random) -> dict:
    """One example: a filled template or, sometimes, an entity-free sentence."""
    if rng.random() < NEGATIVE_RATE:
        return {"tokenized_text": rng.choice(NEGATIVES).split(), "ner": []}
    tokens: List[str] = []
    ner: List[list] = []
    words = rng.choice(TEMPLATES).split()
    if rng.random() < PREFIX_RATE:
        prefix = rng.choice(PREFIXES).split()
        # "On {day}" -> "Meanwhile , on {day}": keep mid-sentence words lowercase.
        words = prefix + ([words[0].lower()] if not words[0].startswith("{") else [words[0]]) + words[1:]
    for word in words:
        if word.startswith("{") and word.endswith("}"):
            label, fill = _SLOTS[word[1:-1]]
            entity = fill(rng)
            ner.append([len(tokens), len(tokens) + len(entity) - 1, label])
            tokens.extend(entity)
        else:
            tokens.append(word)
    return {"tokenized_text": tokens, "ner": ner}


def generate_split(seed: int, split: str, n: int) -> List[dict]:
    """``n`` examples for ``split``; identical for the same ``(seed, split, n)``."""
    # String seeds are hashed with SHA-512 by random.Random, so this is stable
    # across processes and Python runs (unlike hash()).
    rng = random.Random(f"gliner_exp.synthetic:{seed}:{split}")
    return [_sentence(rng) for _ in range(n)]


def generate_synthetic(seed: int, n_train: int, n_dev: int, n_test: int) -> Dict[str, List[dict]]:
    """The three synthetic splits as ``{"train": [...], "dev": [...], "test": [...]}``."""
    return {
        "train": generate_split(seed, "train", n_train),
        "dev": generate_split(seed, "dev", n_dev),
        "test": generate_split(seed, "test", n_test),
    }
