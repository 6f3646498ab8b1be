// Open a PKCS#12 (.p12/.pfx) file locally: check its MAC with the password, decrypt the
// shrouded key bag (PBES2: PBKDF2 + AES-CBC, what current exporters write) and collect the
// certificates. Older exports (PKCS#12 PBE with 3DES or RC2) are refused with a sentence:
// WebCrypto has neither cipher, and a key sealed that way should be re-exported.
import * as pkijs from "pkijs";
import { SealError } from "./errors.js";

const OID_KEY_BAG = "1.2.840.113549.1.12.10.1.1";
const OID_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const OID_PKCS12_PBE_PREFIX = "1.2.840.113549.1.12.1.";

function isLegacyPbe(algorithm) {
  return Boolean(algorithm && algorithm.algorithmId.startsWith(OID_PKCS12_PBE_PREFIX));
}

/** The algorithm of an EncryptedData read from the raw ASN.1 (parsing it with PKI.js here
 * would spoil the later decryption of the same object). */
function encryptionOf(info) {
  try {
    const eci = info.content.valueBlock.value[1];
    return { algorithmId: eci.valueBlock.value[1].valueBlock.value[0].valueBlock.toString() };
  } catch (e) {
    return null;
  }
}

export async function openPkcs12(buffer, password) {
  let pfx;
  try {
    pfx = pkijs.PFX.fromBER(buffer);
  } catch (e) {
    throw new SealError("not-pkcs12");
  }
  const secret = new TextEncoder().encode(password).buffer;
  try {
    await pfx.parseInternalValues({ password: secret, checkIntegrity: true });
  } catch (e) {
    console.warn("pkcs12 integrity:", e && e.message);
    // a MAC that does not verify is a wrong password (or a damaged file)
    throw new SealError(String(e && e.message).includes("Integrity") ? "wrong-password" : "not-pkcs12");
  }
  const authSafe = pfx.parsedValue.authenticatedSafe;
  for (const info of authSafe.safeContents) {
    if (info.contentType === pkijs.id_ContentType_EncryptedData && isLegacyPbe(encryptionOf(info))) {
      throw new SealError("legacy-pkcs12");
    }
  }
  try {
    await authSafe.parseInternalValues({
      safeContents: authSafe.safeContents.map(() => ({ password: secret })),
    });
  } catch (e) {
    console.warn("pkcs12 safe contents:", e && e.message);
    throw new SealError("wrong-password");
  }
  let privateKeyInfo = null;
  const certificates = [];
  for (const content of authSafe.parsedValue.safeContents) {
    for (const bag of content.value.safeBags) {
      if (bag.bagId === OID_SHROUDED_KEY_BAG) {
        if (isLegacyPbe(bag.bagValue.encryptionAlgorithm)) throw new SealError("legacy-pkcs12");
        try {
          await bag.bagValue.parseInternalValues({ password: secret });
        } catch (e) {
          console.warn("pkcs12 key bag:", e && e.message);
          throw new SealError("wrong-password");
        }
        privateKeyInfo = bag.bagValue.parsedValue;
      } else if (bag.bagId === OID_KEY_BAG) {
        privateKeyInfo = bag.bagValue;
      } else if (bag.bagId === OID_CERT_BAG && bag.bagValue.parsedValue instanceof pkijs.Certificate) {
        certificates.push(bag.bagValue.parsedValue);
      }
    }
  }
  if (privateKeyInfo === null) throw new SealError("no-key");
  if (certificates.length === 0) throw new SealError("no-certificate");
  return { privateKeyInfo, certificates };
}


