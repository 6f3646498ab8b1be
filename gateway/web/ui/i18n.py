"""Languages of the interface (Flask-Babel) and the words it shows for domain codes.

Interface text is in the gettext catalogues under gateway/web/translations; the labels of
form fields, sections and codes come from the hand-kept label catalogues of the domain.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import get_locale, lazy_gettext

from gateway.domain.labels import LabelCatalogue, catalogue_for
from gateway.domain.translation_notes import flag_note

DEFAULT_LOCALE = "en"
LOCALES: dict[str, str] = {"en": "English", "nl": "Nederlands"}


def select_locale() -> str:
    session = g.get("ui_session")
    if session is not None and session.language in LOCALES:
        return str(session.language)
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(list(LOCALES), default=DEFAULT_LOCALE)


def locale_code() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def labels() -> LabelCatalogue:
    return catalogue_for(locale_code())


STATE_NAMES = {
    "received": lazy_gettext("Received"),
    "verified": lazy_gettext("Verified"),
    "translating": lazy_gettext("Translating"),
    "translated": lazy_gettext("Translated"),
    "rendered": lazy_gettext("Documents prepared"),
    "available": lazy_gettext("Available to the counterpart"),
    "retrieved": lazy_gettext("Retrieved by the counterpart"),
    "acknowledged": lazy_gettext("Acknowledged by the counterpart"),
    "rejected": lazy_gettext("Rejected"),
    "failed": lazy_gettext("Processing problem"),
    "withdrawn": lazy_gettext("Withdrawn"),
}

EVENT_NAMES = {
    "received": lazy_gettext("Received by the gateway"),
    "verified": lazy_gettext("Signature and sender verified"),
    "rejected": lazy_gettext("Rejected"),
    "translation_started": lazy_gettext("Machine translation started"),
    "translated": lazy_gettext("Machine translation finished"),
    "rendered": lazy_gettext("Bilingual PDF prepared"),
    "made_available": lazy_gettext("Made available to the counterpart"),
    "leased": lazy_gettext("Counterpart started retrieving"),
    "lease_expired": lazy_gettext("Counterpart retrieval timed out"),
    "retrieved": lazy_gettext("Retrieved by the counterpart"),
    "acknowledged": lazy_gettext("Receipt acknowledged by the counterpart"),
    "evidence_issued": lazy_gettext("Signed receipt issued"),
    "step_failed": lazy_gettext("A processing step failed"),
    "step_retried": lazy_gettext("A processing step was retried"),
    "failed_permanently": lazy_gettext("Processing failed for good after the last attempt"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "delivered": lazy_gettext("Delivered to the counterpart"),
    "clock_set": lazy_gettext("Legal time limit set"),
    "clock_reminder": lazy_gettext("Reminder: a legal time limit is near"),
    "clock_breached": lazy_gettext("Legal time limit passed"),
    "answer_received": lazy_gettext("Answer of the executing authority received"),
    "withdrawal_applied": lazy_gettext("Withdrawal applied"),
    "refused": lazy_gettext("Refused by the executing authority"),
}

EVIDENCE_NAMES = {
    "SubmissionAcceptance": lazy_gettext("Submission accepted"),
    "SubmissionRejection": lazy_gettext("Submission rejected"),
    "RelayREMMDAcceptance": lazy_gettext("Relay accepted"),
    "RelayREMMDFailure": lazy_gettext("Relay failed"),
    "Delivery": lazy_gettext("Delivered"),
    "NonDelivery": lazy_gettext("Not delivered"),
    "Retrieval": lazy_gettext("Retrieved by the counterpart"),
    "NonRetrieval": lazy_gettext("Not retrieved in time"),
    "CounterpartAcknowledgement": lazy_gettext("Acknowledged by the counterpart"),
}

PROBLEM_TEXT = {
    "required": lazy_gettext("This is required."),
    "not-in-list": lazy_gettext("Choose one of the options."),
    "bad-date": lazy_gettext("Enter a date."),
    "bad-datetime": lazy_gettext("Enter a date and time."),
    "bad-country": lazy_gettext("Choose a country."),
    "too-long": lazy_gettext("This text is too long."),
    "wrong-type": lazy_gettext("This value is not valid here."),
    "control-character": lazy_gettext("Remove the control characters from this text."),
    "not-a-list": lazy_gettext("Add at least one entry."),
    "same-authority": lazy_gettext("The executing authority must be another authority."),
    "request-type-not-accepted": lazy_gettext(
        "This authority does not take this type of request. Choose another authority."
    ),
    "deadline-past": lazy_gettext("The deadline lies in the past."),
    # an answer of the executing side (gateway/domain/reply_kinds.py)
    "grounds-required": lazy_gettext("Choose at least one ground of refusal from the list."),
    "ground-not-applicable": lazy_gettext("This ground does not apply to this kind of request."),
    "kind-not-applicable": lazy_gettext("This kind of answer does not apply to this request."),
    "request-final": lazy_gettext(
        "This request was refused or withdrawn: nothing more can be sent about it."
    ),
    "pair-not-served": lazy_gettext(
        "No installed translation engine translates this language into the counterpart's "
        "language: the translation would be unavailable. Write the request in a language the "
        "gateway translates from (English, for example), or ask the gateway administrator."
    ),
    # pre-flight checks of the legal workflow (gateway/domain/preflight.py): warnings only
    "no-listed-offence": lazy_gettext(
        "No Annex D category is chosen: the executing State may verify double criminality."
    ),
    "validation-needed": lazy_gettext(
        "An order from a non-judicial authority needs validation by a judge, court or "
        "prosecutor (section L)."
    ),
    "identity-missing": lazy_gettext("No person concerned is identified."),
    "identity-incomplete": lazy_gettext("The identity data of this person are incomplete."),
    "qualification-missing": lazy_gettext("The legal qualification of the offence is missing."),
    "penalty-unknown": lazy_gettext(
        "State the maximum penalty (at least 3 years for a listed offence)."
    ),
    "penalty-unreadable": lazy_gettext(
        "The penalty could not be read: write it as a number of years or months, for "
        "example 3 years or 18 months."
    ),
    "listed-offence-below-threshold": lazy_gettext(
        "A listed offence counts only with a maximum penalty of at least 3 years."
    ),
    "penalty-below-threshold": lazy_gettext(
        "For prosecution the maximum penalty must be at least 12 months."
    ),
    "sentence-below-threshold": lazy_gettext(
        "For execution the sentence must be at least 4 months."
    ),
    "hearing-date-missing": lazy_gettext("A hearing by video link needs proposed dates."),
    "hearing-date-past": lazy_gettext("The proposed date lies in the past."),
    "witness-language-missing": lazy_gettext(
        "The witness's language is needed to arrange an interpreter."
    ),
}

# What the summary says about a few fields whose absence a lawyer should not overlook.
SPECIFIC_PROMPTS = {
    "legal_qualification": lazy_gettext(
        "The legal qualification of the offence is missing: the executing authority "
        "needs it to check double criminality."
    ),
}


# A translation segment's status in words (never the technical code).
TRANSLATION_STATUS = {
    "translated": lazy_gettext("translated"),
    "complete": lazy_gettext("translated"),
    "needs-review": lazy_gettext("to be checked by a person"),
    "failed": lazy_gettext("not translated"),
    "not-needed": lazy_gettext("no translation needed"),
    "unavailable": lazy_gettext("no translation engine for this language pair"),
}

# Why a request stopped, and what the magistrate can do, per failed step.
FAILED_STEP = {
    "translate": lazy_gettext(
        "The machine translation did not succeed. The gateway retries on its own; if it "
        "stays here, write the request again in a language the gateway translates from "
        "(English, for example) or ask the gateway administrator."
    ),
    "render": lazy_gettext(
        "The bilingual PDF could not be prepared. The gateway retries on its own; if it "
        "stays here, ask the gateway administrator. Your request is kept safely."
    ),
    "package": lazy_gettext(
        "The delivery package for the counterpart could not be prepared. The gateway "
        "retries on its own; if it stays here, ask the gateway administrator."
    ),
}


def translation_status(status: str) -> str:
    return str(TRANSLATION_STATUS.get(status, lazy_gettext("to be checked by a person")))


def failed_step_text(step: str | None) -> str:
    return str(
        FAILED_STEP.get(
            step or "",
            lazy_gettext(
                "A processing step did not succeed. The gateway retries on its own; if it "
                "stays here, ask the gateway administrator. Your request is kept safely."
            ),
        )
    )


def problem_text(code: str) -> str:
    return str(PROBLEM_TEXT.get(code, lazy_gettext("This value is not valid here.")))


def state_name(state: str) -> str:
    return str(STATE_NAMES.get(state, state))


def event_name(event: str) -> str:
    return str(EVENT_NAMES.get(event, event.replace("_", " ")))


def evidence_name(kind: str) -> str:
    return str(EVIDENCE_NAMES.get(kind, kind))


def flag_text(flag: object) -> str:
    """A translation flag as a hand-written sentence in the interface language, never its code."""
    return flag_note(str(flag), labels())
