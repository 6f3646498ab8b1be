// Seal a draft in the browser: the magistrate's .p12/.pfx is opened here, its key is
// imported into WebCrypto as non-extractable, the exact request the gateway holds for the
// draft is signed (CMS SignedData) and encrypted to the gateway's intake certificate
// (CMS AuthEnvelopedData, AES-256-GCM, RFC 5083/5084). Only the sealed message leaves the
// page; the key file, its password and the key never do.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { buildAuthEnvelope } from "./envelope.js";
import { SealError } from "./errors.js";
import { openPkcs12 } from "./pkcs12.js";
import { hashFile, submissionDocument } from "./submission.js";

const OID_DATA = "1.2.840.113549.1.7.1";
const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME = "1.2.840.113549.1.9.5";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(data) {
  return crypto.subtle.digest("SHA-256", data);
}

function certificateDer(cert) {
  return cert.toSchema().toBER(false);
}

/** Which certificate of the file signs: a registered, current, non-CA certificate. */
async function chooseSigner(certificates, info, now) {
  const candidates = [];
  for (const cert of certificates) {
    const constraints = (cert.extensions || []).find((e) => e.extnID === "2.5.29.19");
    if (constraints && constraints.parsedValue && constraints.parsedValue.cA) continue;
    candidates.push({ cert, fingerprint: hex(await sha256(certificateDer(cert))) });
  }
  if (candidates.length === 0) throw new SealError("no-certificate");
  const registered = candidates.filter((c) => info.signer_fingerprints.includes(c.fingerprint));
  if (registered.length === 0) throw new SealError("unregistered");
  const signer = registered[0].cert;
  if (signer.notAfter.value < now) {
    throw new SealError("expired", { date: signer.notAfter.value.toISOString().slice(0, 10) });
  }
  if (signer.notBefore.value > now) throw new SealError("not-yet-valid");
  return signer;
}

export async function importSigningKey(privateKeyInfo) {
  const oid = privateKeyInfo.privateKeyAlgorithm.algorithmId;
  let algorithm;
  if (oid === "1.2.840.113549.1.1.1") {
    algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  } else if (oid === "1.2.840.10045.2.1") {
    const curves = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };
    const params = privateKeyInfo.privateKeyAlgorithm.algorithmParams;
    const curve = params && curves[params.valueBlock.toString()];
    if (!curve) throw new SealError("unsupported-key");
    algorithm = { name: "ECDSA", namedCurve: curve };
  } else {
    throw new SealError("unsupported-key");
  }
  const der = new Uint8Array(privateKeyInfo.toSchema().toBER(false));
  try {
    // non-extractable: the page can sign with it, nobody can read it back
    return await crypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]);
  } catch (e) {
    throw new SealError("unsupported-key");
  } finally {
    der.fill(0);
  }
}

export async function signContent(content, key, signer, chain, now) {
  const digest = await sha256(content);
  const encapsulated = new pkijs.EncapsulatedContentInfo({ eContentType: OID_DATA });
  // one primitive OCTET STRING, as openssl writes it (PKI.js's constructor would split the
  // content into a constructed string, which strict DER readers refuse)
  encapsulated.eContent = new asn1js.OctetString({ valueHex: content });
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: encapsulated,
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: signer.issuer,
          serialNumber: signer.serialNumber,
        }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: [
            new pkijs.Attribute({
              type: OID_CONTENT_TYPE,
              values: [new asn1js.ObjectIdentifier({ value: OID_DATA })],
            }),
            new pkijs.Attribute({
              type: OID_SIGNING_TIME,
              values: [new asn1js.UTCTime({ valueDate: now })],
            }),
            new pkijs.Attribute({
              type: OID_MESSAGE_DIGEST,
              values: [new asn1js.OctetString({ valueHex: digest })],
            }),
          ],
        }),
      }),
    ],
    certificates: [signer, ...chain],
  });
  await signedData.sign(key, 0, "SHA-256");
  const der = new pkijs.ContentInfo({
    contentType: OID_SIGNED_DATA,
    content: signedData.toSchema(true),
  })
    .toSchema()
    .toBER(false);
  // the key must belong to the certificate: verify the very bytes that will be sent,
  // before anything leaves the page
  const reread = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(der).content });
  const ok = await reread.verify({ signer: 0, checkChain: false }).catch((e) => {
    console.warn("self-check:", e && e.message);
    return false;
  });
  if (!ok) throw new SealError("key-mismatch");
  return der;
}

async function matchAttachments(announced, files) {
  const chosen = [];
  for (const file of files) {
    chosen.push({ file, sha256: hex(await hashFile(file)), size: file.size });
  }
  const result = [];
  for (const entry of announced) {
    const found = chosen.find((c) => c.sha256 === entry.sha256 && c.size === entry.size);
    if (!found) throw new SealError("attachment-missing", { name: entry.name });
    result.push({ ...entry, file: found.file });
  }
  for (const c of chosen) {
    if (!announced.some((a) => a.sha256 === c.sha256)) {
      throw new SealError("attachment-unannounced", { name: c.file.name });
    }
  }
  return result;
}

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) throw new SealError("signed-out");
  if (!response.ok) throw new SealError("server", { detail: String(response.status) });
  return response.json();
}

/** Seal and submit; returns the submission answer. Throws SealError with a message key. */
export async function sealAndSubmit({ form, p12File, password, attachmentFiles, onStep }) {
  const now = new Date();
  onStep("reading");
  const info = await fetchJson(form.dataset.sealingUrl);
  const { privateKeyInfo, certificates } = await openPkcs12(
    await p12File.arrayBuffer(),
    password
  );
  const signer = await chooseSigner(certificates, info, now);
  const chain = certificates.filter((c) => c !== signer);
  const key = await importSigningKey(privateKeyInfo);
  onStep("attachments");
  const attachments = await matchAttachments(info.attachments, attachmentFiles);
  const inline = [];
  const later = [];
  for (const a of attachments) {
    if (a.size <= info.max_inline_bytes) {
      inline.push({ ...a, content: new Uint8Array(await a.file.arrayBuffer()) });
    } else {
      later.push(a);
    }
  }
  onStep("signing");
  const content = submissionDocument(info, now, [...inline, ...later]);
  const signed = await signContent(content, key, signer, chain, now);
  onStep("encrypting");
  const intake = pkijs.Certificate.fromBER(
    Uint8Array.from(atob(info.intake_certificate), (c) => c.charCodeAt(0))
  );
  const envelope = await buildAuthEnvelope(signed, intake);
  onStep("sending");
  const response = await fetch(form.dataset.submitUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/pkcs7-mime",
      Accept: "application/json",
      "X-CSRF-Token": form.querySelector("input[name=csrf_token]").value,
    },
    body: envelope,
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new SealError(response.status === 401 ? "signed-out" : "refused", {
      detail: answer.detail || String(response.status),
    });
  }
  for (const a of later) {
    onStep("uploading", { name: a.name });
    await uploadAttachment(answer, a, intake);
  }
  return answer;
}

/** A large attachment: its own AuthEnvelopedData, PUT to the submission's upload URL.
 * The capability token from the submission answer (upload_token) goes along in the
 * Upload-Token header, as the attachment API requires. */
async function uploadAttachment(answer, attachment, intake) {
  const envelope = await buildAuthEnvelope(await attachment.file.arrayBuffer(), intake);
  const headers = { "Content-Type": "application/pkcs7-mime", Accept: "application/json" };
  if (answer.upload_token) headers["Upload-Token"] = answer.upload_token;
  const url =
    `/api/v1/submissions/${encodeURIComponent(answer.message_id)}` +
    `/attachments/${encodeURIComponent(attachment.name)}`;
  const response = await fetch(url, { method: "PUT", credentials: "same-origin", headers, body: envelope });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new SealError("upload-failed", { name: attachment.name, detail: problem.detail || "" });
  }
}

function message(key, params) {
  const node = document.querySelector(`#seal-messages [data-key="${key}"]`) ||
    document.querySelector('#seal-messages [data-key="unexpected"]');
  let text = node ? node.textContent : key;
  for (const [name, value] of Object.entries(params || {})) {
    text = text.replace(`{${name}}`, value);
  }
  return text.trim();
}

function wire() {
  const form = document.getElementById("browser-seal");
  if (!form) return;
  const status = document.getElementById("seal-status");
  const problem = document.getElementById("seal-problem");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    problem.textContent = "";
    const p12File = form.querySelector("#p12-file").files[0];
    const passwordField = form.querySelector("#p12-password");
    const attachmentInput = form.querySelector("#attachment-files");
    if (!p12File) {
      problem.textContent = message("choose-file");
      problem.hidden = false;
      problem.focus();
      return;
    }
    button.disabled = true;
    try {
      const answer = await sealAndSubmit({
        form,
        p12File,
        password: passwordField.value,
        attachmentFiles: attachmentInput ? Array.from(attachmentInput.files) : [],
        onStep: (step, params) => {
          status.textContent = message(`step-${step}`, params);
        },
      });
      passwordField.value = "";
      status.textContent = message("step-done");
      window.location.assign(answer.redirect);
    } catch (error) {
      const key = error instanceof SealError ? error.key : "unexpected";
      if (!(error instanceof SealError)) console.error(error);
      status.textContent = "";
      problem.textContent = message(key, error.params);
      problem.hidden = false;
      problem.focus();
      button.disabled = false;
    }
  });
  form.dataset.ready = "1";
}

if (typeof document === "undefined") {
  // imported outside a page (node, for debugging): nothing to wire
} else if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", wire);
} else {
  wire();
}
