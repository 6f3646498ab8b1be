"""Write the fidelity corpus (corpus.json) and the gendered glossary set, deterministically.

Run: .venv/bin/python bench/fidelity/build_corpus.py   (the output is committed)

Every request has several free-text fields; each field is one to three sentences built from
templates whose slots carry *must-survive* items (names from many countries with
diacritics, apostrophes and particles, addresses, amounts in several formats, IBANs, case
numbers, dates, phones, e-mails, statute references). The item list of each field is the
ground truth the bench checks the target against; about half the fields lack final
punctuation. Glossary sentences put gendered terms after articles.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

PERSONS = [
    "Siobhán O'Neill",
    "Jan van der Berg",
    "Dominik Wójcik-Nowak",
    "María José de la Fuente",
    "Jean-Luc D'Aubigné",
    "Søren Kjærgaard",
    "Giuseppe Di Marco",
    "Seán Mac Aodha",
    "Ana-Maria Ionescu",
    "Zoltán Kovács",
    "Ludwig von Hohenberg",
    "Björn Åström",
    "Dimitrios Papadopoulos",
    "Ieva Kalniņa",
    "Tomáš Dvořák",
    "Ewan McGregor",
    "Fatima El Amrani",
    "Lars-Erik Lindqvist",
    "Aoife Ní Bhriain",
    "Pieter de Vries",
    "Matthias Schröder",
    "Élodie Lefèvre",
    "João Gonçalves",
    "Kateřina Nováková",
    "Radu Păunescu",
    "Jürgen Weiß",
    "Mairéad O'Sullivan",
    "Hans-Peter Müller",
    "Małgorzata Krzyżanowska",
    "Antoine de Saint-Rémy",
    "Liam Fitzgerald",
    "Nuno Conceição",
    "Eleni Georgiou",
    "Vytautas Žukauskas",
    "Marco Dell'Acqua",
    "Inés Núñez Ybarra",
]
COMPANIES = [
    "Van Dijk Logistics B.V.",
    "Kowalski Trans Sp. z o.o.",
    "Müller & Söhne GmbH",
    "Costa Brava Import S.L.",
    "O'Brien Holdings Ltd",
    "Lefèvre Négoce SARL",
    "Baltic Amber Trading UAB",
    "Dell'Orto Costruzioni S.r.l.",
    "Nordström Fastigheter AB",
    "Dvořák Stavby s.r.o.",
]
ADDRESSES = [
    "Rue de la Loi 16, 1049 Brussels",
    "Keizersgracht 123-2, 1015 CJ Amsterdam",
    "Calle de Alcalá 45, 28014 Madrid",
    "Via dei Mille 12, 00185 Roma",
    "ul. Marszałkowska 84, 00-514 Warszawa",
    "Hauptstraße 5, 10827 Berlin",
    "221B Baker Street",
    "Avenida da Liberdade 110, 1269-046 Lisboa",
    "Váci utca 20, 1052 Budapest",
    "Drottninggatan 53, 111 21 Stockholm",
    "Strada Lipscani 18, 030031 București",
    "Rue du Faubourg Saint-Honoré 55, 75008 Paris",
]
PLACES = [
    "Rotterdam",
    "Antwerpen",
    "Gdańsk",
    "Zaragoza",
    "Thessaloníki",
    "Kraków",
    "Linköping",
    "Cluj-Napoca",
    "Dún Laoghaire",
    "Esch-sur-Alzette",
    "Köln",
    "Łódź",
]
AMOUNTS = [
    "EUR 12,500.00",
    "€ 3.400,50",
    "1 250 000 EUR",
    "USD 75,000",
    "£4,999.99",
    "EUR 48.000",
    "€870",
    "12.345,67 euros",
    "PLN 230 000",
    "CHF 18,750.00",
]
IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "NL91ABNA0417164300",
    "BE68 5390 0754 7034",
    "ES91 2100 0418 4502 0005 1332",
    "FR14 2004 1010 0505 0001 3M02 606",
    "IT60 X054 2811 1010 0000 0123 456",
    "PL61 1090 1014 0000 0712 1981 2874",
]
CASES = [
    "2024/117-B",
    "ROT-2026-00123",
    "K-17/2025/III",
    "1234/22-EIO",
    "PPU-45/2023",
    "AZ-3-StR-155/24",
    "MAD-2025-0042",
    "BXL/2026/118",
]
DATES = [
    "12 January 2026",
    "2024-03-15",
    "15.03.2024",
    "3 May 2024",
    "28/02/2025",
    "1 October 2023",
]
PHONES = ["+31 10 123 4567", "+49 30 1234567", "0034 91 123 45 67", "+48 22 555 01 23"]
EMAILS = ["j.dupont@example.be", "kontakt@firma-example.pl", "m.rossi@example.it"]
URLS = ["https://example.eu/case/123", "https://registry.example.nl/extract/55"]
STATUTES = [
    "art. 326 Sr",
    "§ 263 StGB",
    "Article 248 CP",
    "art. 420 CPP",
    "§ 261 StGB",
    "art. 225 Sr",
]

MLA = [
    "Between {date} and {date2} {person} transferred {amount} to account {iban}",
    "The payments were received by {company}, registered at {address}",
    "{person} used the e-mail address {email} and the phone number {phone}",
    "We request the bank statements of account {iban} for the period since {date}",
    "The suspect {person} is believed to live at {address}",
    "A search of the premises at {address} is requested in case {case}",
    "The offence is punishable under {statute} with up to six years of imprisonment",
    "Invoices for {amount} were issued by {company} to {company2}",
    "The investigation {case} concerns fraud committed in {place} and {place2}",
    "Please provide the subscriber data for {phone} and the records of {url}",
    "On {date} the money was withdrawn in cash in {place} by {person}",
    "The account holder {person} received {amount} from {company}",
]
WITNESS = [
    "The witness {person}, living at {address}, should be heard by video link",
    "{person} can be reached at {phone} or {email}",
    "The hearing is proposed for {date} in case {case}",
    "The witness saw {person} hand over {amount} in {place} on {date}",
    "Please ask whether {person} worked for {company} before {date}",
    "The witness is protected under {statute} and must not be named in public",
    "{person} will be assisted by an interpreter and by the lawyer {person2}",
    "The witness statement of {date} refers to payments from account {iban}",
    "The court in {place} asks that the examination be recorded under reference {case}",
    "The witness met {person} at {address} several times",
]
EXTRADITION = [
    "The requested person {person}, born on {date} in {place}, is sought for prosecution",
    "{person} is accused of {statute} for laundering {amount}",
    "The warrant {case} was issued on {date} by the court in {place}",
    "The last known address of the requested person is {address}",
    "{person} used the alias {person2} and the phone number {phone}",
    "The offences were committed in {place} between {date} and {date2}",
    "The maximum penalty under {statute} is eight years of imprisonment",
    "The requested person held account {iban} at a bank in {place}",
    "The proceeds of {amount} were paid to {company}",
    "The arrest took place on {date} at {address}",
]
TYPES = {"mla": MLA, "witness-examination": WITNESS, "extradition": EXTRADITION}
FIELDS = {
    "mla": ["G.facts", "G.description", "H.measures", "I.grounds"],
    "witness-examination": ["W.facts", "W.questions", "W.arrangements"],
    "extradition": ["E.facts", "E.circumstances", "E.offences", "E.identity"],
}

GLOSSARY = [
    # source, target, gender, number
    ("requested person", "persona reclamada", "f", "sg"),
    ("criminal organisation", "organización delictiva", "f", "sg"),
    ("house search", "registro domiciliario", "m", "sg"),
    ("bank statements", "extractos bancarios", "m", "pl"),
    ("search warrant", "orden de registro", "f", "sg"),
    ("witness statements", "declaraciones testificales", "f", "pl"),
    ("public prosecutor", "fiscal", "m", "sg"),
    ("seized assets", "bienes incautados", "m", "pl"),
    ("telephone interception", "intervención telefónica", "f", "sg"),
    ("issuing authority", "autoridad emisora", "f", "sg"),
    ("executing authority", "autoridad de ejecución", "f", "sg"),
    ("freezing order", "resolución de embargo", "f", "sg"),
    ("Article", "artículo", "m", "sg"),
]
GLOSSARY_TEMPLATES = [
    "The {term} was informed on {date}",
    "We contacted the {term} in {place}",
    "A copy was sent to the {term} yesterday",
    "The court received a {term} from {place}",
    "This request concerns the {term} and the {term2}",
    "Please describe the {term} in detail.",
]


def _fill(template: str, rng: random.Random) -> tuple[str, list[str]]:
    values = {
        "person": rng.choice(PERSONS),
        "person2": rng.choice(PERSONS),
        "company": rng.choice(COMPANIES),
        "company2": rng.choice(COMPANIES),
        "address": rng.choice(ADDRESSES),
        "place": rng.choice(PLACES),
        "place2": rng.choice(PLACES),
        "amount": rng.choice(AMOUNTS),
        "iban": rng.choice(IBANS),
        "case": rng.choice(CASES),
        "date": rng.choice(DATES),
        "date2": rng.choice(DATES),
        "phone": rng.choice(PHONES),
        "email": rng.choice(EMAILS),
        "url": rng.choice(URLS),
        "statute": rng.choice(STATUTES),
    }
    items = []
    text = template
    while "{" in text:
        start = text.index("{")
        end = text.index("}", start)
        slot = text[start + 1 : end]
        value = values[slot]
        text = text[:start] + value + text[end + 1 :]
        items.append(value)
    return text, items


def build(seed: int = 13) -> dict[str, object]:
    rng = random.Random(seed)
    requests = []
    sentences = 0
    for number in range(108):
        kind = list(TYPES)[number % 3]
        fields = []
        for path in FIELDS[kind]:
            parts, items = [], []
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                text, found = _fill(rng.choice(TYPES[kind]), rng)
                parts.append(text + ".")
                items.extend(found)
                sentences += 1
            text = " ".join(parts)
            if rng.random() < 0.5:
                text = text[:-1]  # no final punctuation: where words used to cross fields
            fields.append({"path": path, "text": text, "must_survive": items})
        requests.append({"id": f"req-{number:03d}", "request_type": kind, "fields": fields})
    glossary_set = []
    for number in range(60):
        entry, other = rng.sample([g for g in GLOSSARY if g[0] != "Article"], 2)
        template = GLOSSARY_TEMPLATES[number % len(GLOSSARY_TEMPLATES)]
        template = template.replace("{term}", entry[0]).replace("{term2}", other[0])
        text, items = _fill(template, rng)
        terms = [entry[0]] + ([other[0]] if other[0] in text else [])
        glossary_set.append({"text": text, "terms": terms, "must_survive": items})
    for number, statute in enumerate(("301", "248", "173 bis", "22")):
        glossary_set.append(
            {
                "text": f"The offence falls under Article {statute} of the code",
                "terms": ["Article"],
                "must_survive": [statute.split()[0]],
                "id": number,
            }
        )
    return {
        "requests": requests,
        "sentences": sentences,
        "glossary": [
            {"source": s, "target": t, "gender": g, "number": n} for s, t, g, n in GLOSSARY
        ],
        "glossary_set": glossary_set,
    }


def main() -> None:
    corpus = build()
    (HERE / "corpus.json").write_text(
        json.dumps(corpus, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    items = sum(len(f["must_survive"]) for r in corpus["requests"] for f in r["fields"])
    print(f"{len(corpus['requests'])} requests, {corpus['sentences']} sentences, {items} items")


if __name__ == "__main__":
    main()
