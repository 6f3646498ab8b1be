"""Closed code lists used by the forms (meanings per language live in label catalogues)."""

from __future__ import annotations

# Framework Decision 2002/584/JHA art. 2(2) and Directive 2014/41/EU Annex D:
# the 32 categories of offence for which double criminality is not verified.
LIST_OFFENCES: tuple[str, ...] = (
    "participation-criminal-organisation",
    "terrorism",
    "trafficking-human-beings",
    "sexual-exploitation-children",
    "illicit-trafficking-narcotics",
    "illicit-trafficking-weapons",
    "corruption",
    "fraud-financial-interests",
    "laundering-proceeds",
    "counterfeiting-currency",
    "computer-related-crime",
    "environmental-crime",
    "facilitation-unauthorised-entry",
    "murder-grievous-bodily-injury",
    "illicit-trade-human-organs",
    "kidnapping-hostage-taking",
    "racism-xenophobia",
    "organised-armed-robbery",
    "illicit-trafficking-cultural-goods",
    "swindling",
    "racketeering-extortion",
    "counterfeiting-piracy-products",
    "forgery-administrative-documents",
    "forgery-means-of-payment",
    "illicit-trafficking-hormonal-substances",
    "illicit-trafficking-nuclear-materials",
    "trafficking-stolen-vehicles",
    "rape",
    "arson",
    "crimes-international-criminal-court",
    "unlawful-seizure-aircraft-ships",
    "sabotage",
)

URGENCY = ("normal", "urgent", "very-urgent")
CONFIDENTIALITY = ("none", "confidential", "restricted")
PROCEEDINGS = ("criminal", "administrative-criminal-court", "administrative-appeal", "other")
SEX = ("female", "male", "unknown")
PERSON_ROLE = ("suspect", "accused", "victim", "witness", "expert", "other")
HEARING_MODE = ("videoconference", "telephone")
WITNESS_STATUS = ("witness", "expert", "accused")
EIO_MEASURES = (
    "search-and-seizure",
    "hearing-witness",
    "hearing-suspect",
    "hearing-videoconference",
    "hearing-telephone",
    "banking-information",
    "monitoring-banking-operations",
    "freezing-evidence",
    "interception-telecommunications",
    "covert-investigation",
    "controlled-delivery",
    "temporary-transfer-custody",
    "identification-subscriber",
    "obtaining-existing-records",
    "other",
)
REPLY_KINDS = ("acknowledgement", "request-for-information", "execution-result")
EAW_PURPOSE = ("prosecution", "execution-custodial-sentence", "execution-detention-order")
LANGUAGES = (
    "bg",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fi",
    "fr",
    "ga",
    "hr",
    "hu",
    "it",
    "lt",
    "lv",
    "mt",
    "nl",
    "pl",
    "pt",
    "ro",
    "sk",
    "sl",
    "sv",
)
