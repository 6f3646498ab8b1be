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
# Use restrictions the issuer signs with the request; the gateway enforces each of them.
HANDLING_LABELS = (
    "pull-only",
    "no-machine-translation",
    "speciality",
    "no-onward-transmission",
    "urgent",
)
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
REPLY_KINDS = (
    "acknowledgement",
    "request-for-information",
    "execution-result",
    "recognition-decision",
    "postponement",
    "refusal",
    "delay-notice",
    "eaw-consent",
    "eaw-no-consent",
    "eaw-decision",
    "eaw-extension",
    "surrender-date",
    "hearing-arrangement",
    "hearing-outcome",
    "withdrawal",
)
REPLY_DECISIONS = ("execute", "refuse", "partial")
# Grounds of refusal: EIO Directive 2014/41/EU Art 11(1) and Art 10 (recourse to another
# measure); EAW Framework Decision 2002/584/JHA Art 3 (mandatory), 4 and 4a (optional);
# MLA Convention 1959 Art 2 (as applied with the 2000 Convention).
REFUSAL_GROUNDS = (
    "eio-art11-1a-immunity-privilege",
    "eio-art11-1b-national-security",
    "eio-art11-1c-non-criminal-proceedings",
    "eio-art11-1d-ne-bis-in-idem",
    "eio-art11-1e-territoriality",
    "eio-art11-1f-fundamental-rights",
    "eio-art11-1g-dual-criminality",
    "eio-art11-1h-measure-restricted",
    "eio-art10-1a-measure-not-existing",
    "eio-art10-1b-measure-not-available",
    "eio-art10-3-less-intrusive-measure",
    "eaw-art3-1-amnesty",
    "eaw-art3-2-ne-bis-in-idem",
    "eaw-art3-3-minor",
    "eaw-art4-1-dual-criminality",
    "eaw-art4-2-prosecution-pending",
    "eaw-art4-3-decided-not-to-prosecute",
    "eaw-art4-4-statute-barred",
    "eaw-art4-5-third-state-judgment",
    "eaw-art4-6-national-or-resident",
    "eaw-art4-7-territoriality",
    "eaw-art4a-trial-in-absentia",
    "mla-art2a-political-offence",
    "mla-art2b-sovereignty-security-public-order",
)
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
