// CMS AuthEnvelopedData (RFC 5083) with AES-256-GCM (RFC 5084), the content key wrapped
// with RSA-OAEP-SHA256 for the gateway's intake certificate: the shape
// `openssl cms -encrypt -aes-256-gcm -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256`
// writes and gateway/crypto/envelope.py reads. PKI.js has no AuthEnvelopedData, so the
// outer structure is built with asn1js; the RecipientInfo reuses PKI.js classes.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { SealError } from "./errors.js";

const OID_AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23";
const OID_DATA = "1.2.840.113549.1.7.1";
const OID_AES256_GCM = "2.16.840.1.101.3.4.1.46";
const OID_RSAES_OAEP = "1.2.840.113549.1.1.7";
const OID_MGF1 = "1.2.840.113549.1.1.8";
const OID_SHA256 = "2.16.840.1.101.3.4.2.1";
const OID_RSA = "1.2.840.113549.1.1.1";

function recipientInfo(cert, wrappedKey) {
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 });
  const oaep = new pkijs.RSAESOAEPParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: OID_MGF1,
      algorithmParams: sha256.toSchema(),
    }),
  });
  return new pkijs.RecipientInfo({
    variant: 1,
    value: new pkijs.KeyTransRecipientInfo({
      version: 0,
      rid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
      keyEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: OID_RSAES_OAEP,
        algorithmParams: oaep.toSchema(),
      }),
      encryptedKey: new asn1js.OctetString({ valueHex: wrappedKey }),
    }),
  });
}

export async function buildAuthEnvelope(content, intakeCert) {
  const spki = intakeCert.subjectPublicKeyInfo;
  if (spki.algorithm.algorithmId !== OID_RSA) throw new SealError("gateway-key");
  const recipientKey = await crypto.subtle.importKey(
    "spki",
    spki.toSchema().toBER(false),
    { name: "RSA-OAEP", hash: "SHA-256" },
    false,
    ["encrypt"]
  );
  const contentKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
  ]);
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, contentKey, content)
  );
  const rawKey = new Uint8Array(await crypto.subtle.exportKey("raw", contentKey));
  const wrapped = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, recipientKey, rawKey);
  rawKey.fill(0);
  const ciphertext = sealed.slice(0, sealed.length - 16);
  const mac = sealed.slice(sealed.length - 16);
  const authEnveloped = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      new asn1js.Set({ value: [recipientInfo(intakeCert, wrapped).toSchema()] }),
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID_DATA }),
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: OID_AES256_GCM }),
              new asn1js.Sequence({
                value: [
                  new asn1js.OctetString({ valueHex: nonce }),
                  new asn1js.Integer({ value: 16 }),
                ],
              }),
            ],
          }),
          // encryptedContent [0] IMPLICIT OCTET STRING
          new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ciphertext }),
        ],
      }),
      new asn1js.OctetString({ valueHex: mac }),
    ],
  });
  const info = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID_AUTH_ENVELOPED_DATA }),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [authEnveloped] }),
    ],
  });
  return info.toBER(false);
}
