/**
 * The subject of an X.509 certificate, read from its DER bytes, and the two ways RabbitMQ turns it
 * into a username (ssl_cert_login_from): the RFC 4514 distinguished name, formatted exactly as
 * RabbitMQ formats it (rabbit_cert_info: last RDN first, its attribute names, its escaping), or the
 * common name(s). Node's parsed certificate loses the order of the RDNs, hence this small reader.
 */

/** One attribute of a relative distinguished name: its type (dotted OID) and its text. */
export interface SubjectAttribute {
  oid: string;
  value: string;
}

const COMMON_NAME = "2.5.4.3";

/** The attribute names RabbitMQ writes; other types are written as their dotted OID. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  "2.5.4.4": "SN",
  "2.5.4.42": "GIVENNAME",
  "2.5.4.43": "INITIALS",
  "2.5.4.44": "GENERATIONQUALIFIER",
  [COMMON_NAME]: "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "TITLE",
  "2.5.4.6": "C",
  "2.5.4.5": "SERIALNUMBER",
  "2.5.4.65": "PSEUDONYM",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "EMAILADDRESS",
  "2.5.4.9": "STREET",
  "0.9.2342.19200300.100.1.1": "UID",
};

/** A DER element: its tag and where its contents are. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

function element(der: Buffer, at: number, limit: number): Element {
  if (at + 2 > limit) throw new Error("truncated DER");
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > limit) throw new Error("bad DER length");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  if (start + length > limit) throw new Error("truncated DER");
  return { tag, start, end: start + length };
}

/** The elements inside a constructed element. */
function children(der: Buffer, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = element(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

function oid(bytes: Buffer): string {
  const parts: number[] = [];
  let n = 0;
  for (const byte of bytes) {
    n = n * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (parts.length === 0) {
      const first = Math.min(2, Math.floor(n / 40));
      parts.push(first, n - first * 40);
    } else {
      parts.push(n);
    }
    n = 0;
  }
  return parts.join(".");
}

/** The text of a string value, whatever ASN.1 string type holds it. */
function text(der: Buffer, e: Element): string {
  const bytes = der.subarray(e.start, e.end);
  switch (e.tag) {
    case 0x1e: // BMPString: UCS-2, big-endian
      return String.fromCharCode(...Array.from({ length: bytes.length >> 1 }, (_, i) => bytes.readUInt16BE(i * 2)));
    case 0x1c: // UniversalString: UCS-4, big-endian
      return String.fromCodePoint(...Array.from({ length: bytes.length >> 2 }, (_, i) => bytes.readUInt32BE(i * 4)));
    case 0x14: // TeletexString: taken as Latin-1, as RabbitMQ does
      return bytes.toString("latin1");
    default: // UTF8String, PrintableString, IA5String and the rest
      return bytes.toString("utf8");
  }
}

/** The subject of a DER certificate: its RDNs in certificate order, each a set of attributes. */
export function certificateSubject(der: Buffer): SubjectAttribute[][] {
  return certificateName(der, "subject");
}

/** The issuer of a DER certificate, as certificateSubject reads the subject. */
export function certificateIssuer(der: Buffer): SubjectAttribute[][] {
  return certificateName(der, "issuer");
}

function certificateName(der: Buffer, which: "issuer" | "subject"): SubjectAttribute[][] {
  const certificate = element(der, 0, der.length);
  const tbs = children(der, certificate)[0];
  if (tbs === undefined) throw new Error("no tbsCertificate");
  const fields = children(der, tbs);
  // version [0] is optional; then serialNumber, signature, issuer, validity, subject.
  const name = fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + (which === "issuer" ? 2 : 4)];
  if (name === undefined || name.tag !== 0x30) throw new Error(`no ${which}`);
  return children(der, name).map((rdn) =>
    children(der, rdn).map((attribute) => {
      const [type, value] = children(der, attribute);
      if (type === undefined || value === undefined) throw new Error("bad attribute");
      return { oid: oid(der.subarray(type.start, type.end)), value: text(der, value) };
    }),
  );
}

/**
 * The distinguished name as RabbitMQ's default EXTERNAL login (ssl_cert_login_from =
 * distinguished_name) spells it: "CN=client,O=Example,C=GB" for a certificate made with
 * -subj /C=GB/O=Example/CN=client.
 */
export function distinguishedName(subject: SubjectAttribute[][]): string {
  return subject
    .map((rdn) => rdn.map((a) => `${ATTRIBUTE_NAMES[a.oid] ?? a.oid}=${escapeValue(a.value)}`).join("+"))
    .reverse()
    .join(",");
}

/** The common name(s), joined with "," when there are several (ssl_cert_login_from = common_name). */
export function commonName(subject: SubjectAttribute[][]): string | undefined {
  const names = subject
    .flat()
    .filter((a) => a.oid === COMMON_NAME)
    .map((a) => a.value);
  return names.length === 0 ? undefined : names.join(",");
}

/**
 * RFC 4514 escaping as RabbitMQ does it: a leading space or '#', a trailing space and
 * `"+,;<>\` get a backslash; bytes of the UTF-8 form below 32 or from 126 up become \XX.
 */
function escapeValue(value: string): string {
  const bytes = Buffer.from(value, "utf8");
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    const ch = String.fromCharCode(c);
    if (i === 0 && (ch === " " || ch === "#")) out += "\\" + ch;
    else if (i === bytes.length - 1 && ch === " ") out += "\\ ";
    else if ('"+,;<>\\'.includes(ch)) out += "\\" + ch;
    else if (c < 32 || c >= 126) out += "\\" + c.toString(16).toUpperCase().padStart(2, "0");
    else out += ch;
  }
  return out;
}
