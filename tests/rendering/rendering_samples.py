"""Hand-made requests, replies and translations (rogatory.translation/1) for rendering tests.

Every free-text value exists in en, nl, es and fr so each form can be rendered as
en->es and nl->fr with a translation written by hand, not by a model.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workers.rendering import CoverInfo, render_request_pdf

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mla_request.json"
MODEL_SHA = "9f2c4e0b7a51d3c86e1f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d"
PIVOT_SHA = "1b3d5f7092a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e1f3a5b7c9d1e3"

# path -> {language: text}
TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "mla": {
        "sections.B.urgency_reason": {
            "en": "The suspect is about to move the funds abroad.",
            "nl": "De verdachte staat op het punt het geld naar het buitenland over te maken.",
            "es": "El sospechoso está a punto de trasladar los fondos al extranjero.",
            "fr": "Le suspect est sur le point de transférer les fonds à l'étranger.",
        },
        "sections.C.measures_description": {
            "en": "Please provide the statements of the bank account held by the suspect "
            "at the bank in Madrid for the period from January to June.",
            "nl": "Gelieve de afschriften te verstrekken van de bankrekening van de verdachte "
            "bij de bank in Madrid over de periode van januari tot en met juni.",
            "es": "Sírvanse facilitar los extractos de la cuenta bancaria del sospechoso en "
            "el banco de Madrid correspondientes al periodo de enero a junio.",
            "fr": "Veuillez fournir les relevés du compte bancaire détenu par le suspect "
            "auprès de la banque à Madrid pour la période de janvier à juin.",
        },
        "sections.E[0].description": {
            "en": "The suspect is tall and has a beard.",
            "nl": "De verdachte is lang en heeft een baard.",
            "es": "El sospechoso es alto y tiene barba.",
            "fr": "Le suspect est grand et porte la barbe.",
        },
        "sections.G.facts": {
            "en": "The suspect sold false invoices to a company in Rotterdam. "
            "The money was sent to a bank account in Madrid.",
            "nl": "De verdachte verkocht valse facturen aan een bedrijf in Rotterdam. "
            "Het geld werd overgemaakt naar een bankrekening in Madrid.",
            "es": "El sospechoso vendió facturas falsas a una empresa de Róterdam. "
            "El dinero se envió a una cuenta bancaria en Madrid.",
            "fr": "Le suspect a vendu de fausses factures à une société de Rotterdam. "
            "L'argent a été versé sur un compte bancaire à Madrid.",
        },
        "sections.G.legal_qualification": {
            "en": "Fraud and money laundering.",
            "nl": "Oplichting en witwassen.",
            "es": "Estafa y blanqueo de capitales.",
            "fr": "Escroquerie et blanchiment d'argent.",
        },
        "sections.I.formalities": {
            "en": "Please send the documents with a signed statement of the bank.",
            "nl": "Gelieve de stukken te zenden met een ondertekende verklaring van de bank.",
            "es": "Sírvanse enviar los documentos con una declaración firmada del banco.",
            "fr": "Veuillez envoyer les documents avec une déclaration signée de la banque.",
        },
    },
    "witness-examination": {
        "sections.D.reason_not_in_person": {
            "en": "The witness lives in Lyon and cannot travel because of her health.",
            "nl": "De getuige woont in Lyon en kan vanwege haar gezondheid niet reizen.",
            "es": "La testigo vive en Lyon y no puede viajar por motivos de salud.",
            "fr": "La témoin habite à Lyon et ne peut pas voyager pour raisons de santé.",
        },
        "sections.E.subject_matter": {
            "en": "What the witness saw in the warehouse on the night of 3 March.",
            "nl": "Wat de getuige in de nacht van 3 maart in het magazijn heeft gezien.",
            "es": "Lo que la testigo vio en el almacén la noche del 3 de marzo.",
            "fr": "Ce que la témoin a vu dans l'entrepôt la nuit du 3 mars.",
        },
        "sections.E.questions": {
            "en": "1. Who was in the warehouse?\n2. Which vehicles were there?\n"
            "3. Did you see any boxes being loaded?",
            "nl": "1. Wie was er in het magazijn?\n2. Welke voertuigen waren er?\n"
            "3. Hebt u gezien dat er dozen werden geladen?",
            "es": "1. ¿Quién estaba en el almacén?\n2. ¿Qué vehículos había?\n"
            "3. ¿Vio cargar alguna caja?",
            "fr": "1. Qui se trouvait dans l'entrepôt ?\n2. Quels véhicules étaient là ?\n"
            "3. Avez-vous vu charger des caisses ?",
        },
        "sections.F.facts": {
            "en": "Stolen goods were stored in a warehouse and sold through a web shop.",
            "nl": "Gestolen goederen werden in een magazijn opgeslagen "
            "en via een webwinkel verkocht.",
            "es": "Se almacenaron bienes robados en un almacén y se vendieron en una tienda web.",
            "fr": "Des biens volés ont été stockés dans un entrepôt "
            "et vendus sur une boutique en ligne.",
        },
        "sections.F.legal_qualification": {
            "en": "Handling of stolen goods.",
            "nl": "Heling.",
            "es": "Receptación.",
            "fr": "Recel.",
        },
    },
    "extradition": {
        "sections.a.description": {
            "en": "Scar on the left hand; speaks Greek and Bulgarian.",
            "nl": "Litteken op de linkerhand; spreekt Grieks en Bulgaars.",
            "es": "Cicatriz en la mano izquierda; habla griego y búlgaro.",
            "fr": "Cicatrice sur la main gauche ; parle grec et bulgare.",
        },
        "sections.c.maximum_sentence": {
            "en": "Eight years of imprisonment.",
            "nl": "Acht jaar gevangenisstraf.",
            "es": "Ocho años de prisión.",
            "fr": "Huit ans d'emprisonnement.",
        },
        "sections.e.facts": {
            "en": "Between May and July the person imported cocaine from a port in the "
            "south and sold it in the city.",
            "nl": "Tussen mei en juli voerde de persoon cocaïne in via een haven in het "
            "zuiden en verkocht die in de stad.",
            "es": "Entre mayo y julio, la persona importó cocaína a través de un puerto del "
            "sur y la vendió en la ciudad.",
            "fr": "Entre mai et juillet, la personne a importé de la cocaïne par un port du "
            "sud et l'a vendue en ville.",
        },
        "sections.e.legal_qualification": {
            "en": "Drug trafficking as part of a criminal organisation.",
            "nl": "Drugshandel in georganiseerd verband.",
            "es": "Tráfico de drogas en el seno de una organización delictiva.",
            "fr": "Trafic de stupéfiants en bande organisée.",
        },
        "sections.f.other_circumstances": {
            "en": "The person has a house in Varna.",
            "nl": "De persoon heeft een huis in Varna.",
            "es": "La persona tiene una casa en Varna.",
            "fr": "La personne possède une maison à Varna.",
        },
    },
}
REVIEW_PATHS = {
    "sections.G.legal_qualification",
    "sections.E.questions",
    "sections.c.maximum_sentence",
}
FAILED_PATHS = {
    "sections.I.formalities",
    "sections.F.legal_qualification",
    "sections.f.other_circumstances",
}
DOCUMENT_TEXTS = [
    {
        "en": "Statement of the bank manager.",
        "nl": "Verklaring van de bankdirecteur.",
        "es": "Declaración del director del banco.",
        "fr": "Déclaration du directeur de la banque.",
    },
    {
        "en": "The account was opened in 2024.",
        "nl": "De rekening werd in 2024 geopend.",
        "es": "La cuenta se abrió en 2024.",
        "fr": "Le compte a été ouvert en 2024.",
    },
]


def _skeleton(request_type: str) -> dict[str, Any]:
    if request_type == "mla":
        form = json.loads(FIXTURE.read_text(encoding="utf-8"))
        for key in ("deadline_reason",):
            form["sections"]["B"].pop(key)
        form["sections"]["C"].pop("evidence_sought")
        form["sections"]["G"].pop("maximum_penalty")
        return form
    header = {
        "schema": "rogatory.request/1",
        "request_type": request_type,
        "issuing_authority": "nl-om-rotterdam",
        "executing_authority": "fr-parquet-lyon",
        "case_reference": "ROT-2026-00456" if request_type != "extradition" else "EAW-2026-0042",
        "confidentiality": "restricted",
    }
    if request_type == "witness-examination":
        header["sections"] = {
            "A": {"issuing_state": "NL", "executing_state": "FR"},
            "B": {"urgency": "normal"},
            "C": [
                {
                    "status": "witness",
                    "surname": "Dubois",
                    "forenames": "Claire",
                    "date_of_birth": "1975-09-30",
                    "address": "12 rue Garibaldi, 69006 Lyon",
                    "language": "fr",
                    "interpreter_needed": True,
                }
            ],
            "D": {
                "mode": "videoconference",
                "proposed_start": "2027-02-10T10:00:00+01:00",
                "conducting_authority": "Rechtbank Rotterdam",
            },
            "E": {"accused_consents": False},
            "F": {"statutory_provisions": "art. 416 Sr"},
            "K": {
                "authority_name": "Rechtbank Rotterdam",
                "representative": "mr. J. Bakker",
                "file_reference": "RBROT-10/998877-26",
                "signed_on": "2026-11-02",
                "working_language": "nl",
            },
        }
    else:
        header["sections"] = {
            "a": {
                "surname": "Papadopoulos",
                "forenames": "Nikos",
                "aliases": "Николай Попов",
                "sex": "male",
                "nationality": "GR",
                "date_of_birth": "1984-02-29",
                "place_of_birth": "Θεσσαλονίκη",
                "residence": "ул. Шипка 5, Варна",
                "languages_understood": ["el", "bg"],
            },
            "b": {
                "purpose": "prosecution",
                "arrest_warrant_reference": "RC-2026-7781",
                "arrest_warrant_date": "2026-10-01",
            },
            "c": {},
            "e": {
                "number_of_offences": 2,
                "statutory_provisions": "art. 10 Opiumwet",
                "list_offences": [
                    "illicit-trafficking-narcotics",
                    "participation-criminal-organisation",
                ],
            },
            "f": {},
            "i": {
                "authority_name": "Rechter-commissaris Rotterdam",
                "representative": "mr. P. Smit",
                "file_reference": "RC-2026-7781",
                "phone": "+31 10 555 0000",
                "signed_on": "2026-10-02",
            },
        }
    return header


def make_form(request_type: str, language: str) -> dict[str, Any]:
    """A form of `request_type` whose free texts are in `language` (en or nl)."""
    form = _skeleton(request_type)
    form["language"] = language
    for path, versions in TEXTS[request_type].items():
        _set(form, path, versions[language])
    return form


def make_translation(
    request_type: str, source: str, target: str, request_id: str, *, documents: bool = True
) -> dict[str, Any]:
    """A hand-written rogatory.translation/1 document, some segments marked for review/failed."""
    fields = []
    for path, versions in TEXTS[request_type].items():
        status = "translated"
        flags: list[str] = []
        target_text: str | None = versions[target]
        if path in REVIEW_PATHS:
            status, flags = "needs-review", ["low-confidence"]
        if path in FAILED_PATHS:
            status, flags, target_text = "failed", ["engine-error"], None
        fields.append(segment(path, versions[source], target_text, status, flags, source, target))
    docs = []
    if documents:
        docs = [
            {
                "name": "bank-statement.pdf",
                "media_type": "application/pdf",
                "sha256": hashlib.sha256(b"bank-statement").hexdigest(),
                "status": "translated",
                "reason": None,
                "segments": [
                    segment(
                        f"documents[0].p[{i}]",
                        t[source],
                        t[target],
                        "translated",
                        [],
                        source,
                        target,
                    )
                    for i, t in enumerate(DOCUMENT_TEXTS)
                ],
            },
            {
                "name": "photo-warehouse.jpg",
                "media_type": "image/jpeg",
                "sha256": hashlib.sha256(b"photo").hexdigest(),
                "status": "not-machine-translated",
                "reason": "image-without-text-layer",
                "segments": [],
            },
        ]
    status = "failed" if any(f["status"] == "failed" for f in fields) else "complete"
    return {
        "format": "rogatory.translation/1",
        "request_id": request_id,
        "source_language": source,
        "target_language": target,
        "status": status,
        "fields": fields,
        "documents": docs,
    }


def segment(
    path: str,
    source_text: str,
    target_text: str | None,
    status: str,
    flags: list[str],
    source: str,
    target: str,
) -> dict[str, Any]:
    pivot = source not in ("en",) and target != "en"
    legs = (
        [
            {"from": source, "to": "en", "model": f"opus-{source}-en", "model_sha256": PIVOT_SHA},
            {"from": "en", "to": target, "model": f"opus-en-{target}", "model_sha256": MODEL_SHA},
        ]
        if pivot
        else []
    )
    return {
        "path": path,
        "source": source_text,
        "target": target_text,
        "status": status,
        "flags": flags,
        "provenance": {
            "engine": "argostranslate 1.11.0",
            "model": f"translate-{source}_{target}",
            "model_version": "1.9",
            "model_sha256": MODEL_SHA,
            "legs": legs,
            "source_sha256": hashlib.sha256(source_text.encode()).hexdigest(),
            "translated_at": "2026-11-21T09:15:02Z",
        },
    }


def make_cover(request_id: str, message: bytes) -> CoverInfo:
    return CoverInfo(
        request_id=request_id,
        received_at=datetime(2026, 11, 21, 9, 14, 7, tzinfo=UTC),
        message_sha256=hashlib.sha256(message).hexdigest(),
        attachments=[
            ("bank-statement.pdf", hashlib.sha256(b"bank-statement").hexdigest()),
            ("photo-warehouse.jpg", hashlib.sha256(b"photo").hexdigest()),
        ],
        audit_index=4711,
        issuing_authority_name="Openbaar Ministerie Rotterdam",
        executing_authority_name="Fiscalía Provincial de Madrid",
    )


def render_request_file(
    path: Path, form: dict[str, Any], translation: dict[str, Any], *, target: str
) -> Path:
    """`form` printed with `translation` (whose request id the cover takes) into `path`."""
    request_id = translation["request_id"]
    pdf = render_request_pdf(
        form,
        translation,
        make_cover(request_id, b"message"),
        original_message=b"message",
        target_language=target,
    )
    path.write_bytes(pdf)
    return path


def make_reply(language: str, text: str) -> dict[str, Any]:
    return {
        "schema": "rogatory.reply/1",
        "kind": "execution-result",
        "language": language,
        "case_reference": "ROT-2026-00123",
        "confidentiality": "confidential",
        "in_reply_to": "req-01J9Z8",
        "issuing_authority": "es-fiscalia-madrid",
        "executing_authority": "nl-om-rotterdam",
        "references": ["FIS-MAD-2026/5531", "ROT-2026-00123"],
        "body": text,
    }


def _set(form: dict[str, Any], path: str, value: str) -> None:
    parts = path.split(".")[1:]
    node: Any = form["sections"]
    for part in parts[:-1]:
        if part.endswith("]"):
            name, index = part[:-1].split("[")
            node = node[name][int(index)]
        else:
            node = node.setdefault(part, {})
    node[parts[-1]] = value


def clone(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)
