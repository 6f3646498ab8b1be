"""The three request types as form schemas that follow the official forms.

- MLA / European Investigation Order: Directive 2014/41/EU Annex A, sections A-L.
- Witness examination incl. hearing by video link: MLA Convention 2000 arts. 10-11.
- Extradition / European Arrest Warrant: Framework Decision 2002/584/JHA annex, (a)-(i).
Only fields of kind FREE_TEXT are machine-translated; everything else is shown as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain import catalogues as cat
from gateway.domain.fields import FieldKind as K
from gateway.domain.fields import FieldSpec, SectionSpec, code, codes, of, text


class RequestType(StrEnum):
    MLA = "mla"
    WITNESS_EXAMINATION = "witness-examination"
    EXTRADITION = "extradition"
    REPLY = "reply"


@dataclass(frozen=True)
class RequestSchema:
    request_type: RequestType
    title: str
    legal_basis: str
    sections: tuple[SectionSpec, ...]

    def section(self, key: str) -> SectionSpec:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)


def _states() -> SectionSpec:
    return SectionSpec(
        "A",
        (
            of(K.COUNTRY, "issuing_state", required=True),
            of(K.COUNTRY, "executing_state", required=True),
        ),
        required=True,
    )


def _urgency() -> SectionSpec:
    return SectionSpec(
        "B",
        (
            code("urgency", cat.URGENCY, required=True),
            text("urgency_reason"),
            of(K.DATE, "deadline"),
            text("deadline_reason"),
        ),
        required=True,
    )


def _person_fields() -> tuple[FieldSpec, ...]:
    return (
        code("role", cat.PERSON_ROLE, required=True),
        of(K.PERSON_NAME, "surname", required=True),
        of(K.PERSON_NAME, "forenames"),
        of(K.PERSON_NAME, "aliases"),
        code("sex", cat.SEX),
        of(K.DATE, "date_of_birth"),
        of(K.PLACE, "place_of_birth"),
        of(K.COUNTRY, "nationality"),
        of(K.IDENTIFIER, "identity_document"),
        of(K.ADDRESS, "address"),
        text("description", max_length=4_000),
    )


def _authority_details(key: str) -> SectionSpec:
    return SectionSpec(
        key,
        (
            of(K.AUTHORITY, "authority_name", required=True),
            of(K.PERSON_NAME, "representative", required=True),
            of(K.IDENTIFIER, "file_reference"),
            of(K.CONTACT, "phone"),
            of(K.CONTACT, "email"),
            code("working_language", cat.LANGUAGES),
            of(K.DATE, "signed_on", required=True),
        ),
        required=True,
    )


MLA = RequestSchema(
    RequestType.MLA,
    "Mutual legal assistance / European Investigation Order",
    "Directive 2014/41/EU, Annex A",
    (
        _states(),
        _urgency(),
        SectionSpec(
            "C",
            (
                codes("measures", cat.EIO_MEASURES, required=True),
                text("measures_description", required=True),
                text("evidence_sought"),
            ),
            required=True,
        ),
        SectionSpec(
            "D",
            (of(K.IDENTIFIER, "earlier_request_reference"), of(K.DATE, "earlier_request_date")),
        ),
        SectionSpec("E", _person_fields(), repeated=True),
        SectionSpec("F", (code("proceedings", cat.PROCEEDINGS, required=True),), required=True),
        SectionSpec(
            "G",
            (
                text("facts", required=True),
                text("legal_qualification", required=True),
                of(K.IDENTIFIER, "statutory_provisions"),
                codes("list_offences", cat.LIST_OFFENCES),
                text("maximum_penalty", max_length=1_000),
            ),
            required=True,
        ),
        SectionSpec(
            "H",
            (
                of(K.IDENTIFIER, "bank_accounts"),
                text("additional_requirements"),
            ),
        ),
        SectionSpec("I", (text("formalities"),)),
        SectionSpec("J", (text("legal_remedies"),)),
        _authority_details("K"),
        SectionSpec(
            "L",
            (of(K.AUTHORITY, "validating_authority"), of(K.DATE, "validated_on")),
        ),
    ),
)

WITNESS_EXAMINATION = RequestSchema(
    RequestType.WITNESS_EXAMINATION,
    "Examination of a witness or expert, including hearing by video link",
    "Convention on Mutual Assistance in Criminal Matters 2000, arts. 10-11",
    (
        _states(),
        _urgency(),
        SectionSpec(
            "C",
            (
                code("status", cat.WITNESS_STATUS, required=True),
                of(K.PERSON_NAME, "surname", required=True),
                of(K.PERSON_NAME, "forenames"),
                of(K.DATE, "date_of_birth"),
                of(K.ADDRESS, "address"),
                code("language", cat.LANGUAGES),
                of(K.BOOLEAN, "interpreter_needed"),
            ),
            required=True,
            repeated=True,
        ),
        SectionSpec(
            "D",
            (
                code("mode", cat.HEARING_MODE, required=True),
                text("reason_not_in_person", required=True),
                of(K.DATETIME, "proposed_start"),
                of(K.DATETIME, "alternative_start"),
                of(K.AUTHORITY, "conducting_authority"),
                text("persons_present"),
            ),
            required=True,
        ),
        SectionSpec(
            "E",
            (
                text("subject_matter", required=True),
                text("questions", required=True),
                text("rights_and_privileges"),
                of(K.BOOLEAN, "accused_consents"),
            ),
            required=True,
        ),
        SectionSpec(
            "F",
            (
                text("facts", required=True),
                text("legal_qualification", required=True),
                of(K.IDENTIFIER, "statutory_provisions"),
            ),
            required=True,
        ),
        _authority_details("K"),
    ),
)

EXTRADITION = RequestSchema(
    RequestType.EXTRADITION,
    "Extradition / European Arrest Warrant",
    "Framework Decision 2002/584/JHA, Annex",
    (
        SectionSpec(
            "a",
            (
                of(K.PERSON_NAME, "surname", required=True),
                of(K.PERSON_NAME, "forenames"),
                of(K.PERSON_NAME, "maiden_name"),
                of(K.PERSON_NAME, "aliases"),
                code("sex", cat.SEX),
                of(K.COUNTRY, "nationality"),
                of(K.DATE, "date_of_birth", required=True),
                of(K.PLACE, "place_of_birth"),
                of(K.ADDRESS, "residence"),
                codes("languages_understood", cat.LANGUAGES),
                text("description", max_length=4_000),
            ),
            required=True,
        ),
        SectionSpec(
            "b",
            (
                code("purpose", cat.EAW_PURPOSE, required=True),
                of(K.IDENTIFIER, "arrest_warrant_reference"),
                of(K.DATE, "arrest_warrant_date"),
                of(K.IDENTIFIER, "judgment_reference"),
                of(K.DATE, "judgment_date"),
            ),
            required=True,
        ),
        SectionSpec(
            "c",
            (
                text("maximum_sentence", max_length=1_000),
                text("sentence_imposed", max_length=1_000),
                text("remaining_sentence", max_length=1_000),
            ),
        ),
        SectionSpec(
            "d",
            (of(K.BOOLEAN, "appeared_in_person"), text("in_absentia_details")),
        ),
        SectionSpec(
            "e",
            (
                of(K.INTEGER, "number_of_offences", required=True),
                text("facts", required=True),
                text("legal_qualification", required=True),
                of(K.IDENTIFIER, "statutory_provisions"),
                codes("list_offences", cat.LIST_OFFENCES),
            ),
            required=True,
        ),
        SectionSpec("f", (text("other_circumstances"),)),
        SectionSpec("g", (text("property_to_seize"),)),
        SectionSpec("h", (text("life_sentence_review"),)),
        _authority_details("i"),
    ),
)

# A counterpart's answer travels back through the same pipeline, addressed to the issuer.
REPLY = RequestSchema(
    RequestType.REPLY,
    "Reply to a request for judicial cooperation",
    "Reply from the executing authority",
    (
        SectionSpec(
            "R",
            (
                code("reply_kind", cat.REPLY_KINDS, required=True),
                of(K.IDENTIFIER, "in_reply_to", required=True),
                of(K.IDENTIFIER, "references"),
                code("decision", cat.REPLY_DECISIONS),
                codes("grounds", cat.REFUSAL_GROUNDS),
                of(K.DATE, "effective_date"),
                code("hearing_means", cat.HEARING_MODE),
                text("body", required=True),
            ),
            required=True,
        ),
        _authority_details("K"),
    ),
)

SCHEMAS: dict[RequestType, RequestSchema] = {
    schema.request_type: schema for schema in (MLA, WITNESS_EXAMINATION, EXTRADITION, REPLY)
}
