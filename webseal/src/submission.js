// The signed document (format rogatory.submission/1), written as the gateway's own
// build_submission writes it: sorted keys, ", " and ": " separators, UTF-8. The request
// is embedded as the exact canonical text the gateway holds for the draft.
import { sha256 } from "@noble/hashes/sha2";

const CHUNK = 4 * 1024 * 1024;

/** SHA-256 of a File, read in chunks (attachments may be larger than memory likes). */
export async function hashFile(file) {
  const hash = sha256.create();
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    hash.update(new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer()));
  }
  return hash.digest().buffer;
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function pyJson(value) {
  return JSON.stringify(value);
}

function manifestEntry(a) {
  const parts = [];
  if (a.content) parts.push(`"content": ${pyJson(base64(a.content))}`);
  parts.push(`"media_type": ${pyJson(a.file.type || "application/octet-stream")}`);
  parts.push(`"name": ${pyJson(a.name)}`);
  parts.push(`"sha256": ${pyJson(a.sha256)}`);
  parts.push(`"size": ${a.size}`);
  return `{${parts.join(", ")}}`;
}

export function submissionDocument(info, now, attachments) {
  const created = now.toISOString().replace(/\.\d{3}Z$/, "+00:00");
  const text =
    `{"attachments": [${attachments.map(manifestEntry).join(", ")}], ` +
    `"created": ${pyJson(created)}, ` +
    `"format": ${pyJson(info.format)}, ` +
    `"gateway": ${pyJson(info.gateway_id)}, ` +
    `"message_id": ${pyJson(info.message_id)}, ` +
    `"request": ${info.request_json}}`;
  return new TextEncoder().encode(text);
}
