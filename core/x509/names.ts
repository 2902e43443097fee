/** Distinguished names (RFC 5280 §4.1.2.4): attribute lists read from certificates, and written. */
import {
  Asn1Error,
  children,
  decodeOid,
  decodeString,
  expectUniversal,
  oid,
  sequence,
  set,
  string,
  UNIVERSAL,
  type StringType,
  type Tlv,
} from '../asn1/index.ts';
import { certificateFields, type CertificateInput } from './certificate.ts';
import { X509Error } from './errors.ts';

/** The attribute types certificates here use, by their usual short names. */
export const NAME_ATTRIBUTE_OIDS = {
  CN: '2.5.4.3',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
} as const;

export type NameAttributeType = keyof typeof NAME_ATTRIBUTE_OIDS;

export interface NameAttribute {
  readonly oid: string;
  /** `CN`, `O`, ... when the OID is one of NAME_ATTRIBUTE_OIDS. */
  readonly type: NameAttributeType | undefined;
  readonly value: string;
  readonly stringType: StringType;
}

function typeOfOid(dotted: string): NameAttributeType | undefined {
  for (const [name, o] of Object.entries(NAME_ATTRIBUTE_OIDS))
    if (o === dotted) return name as NameAttributeType;
  return undefined;
}

/** Flattens a Name (RDNSequence) into its attributes, in order. */
export function parseName(name: Tlv): NameAttribute[] {
  try {
    const out: NameAttribute[] = [];
    for (const rdn of children(expectUniversal(name, UNIVERSAL.SEQUENCE, 'Name'))) {
      const atvs = children(expectUniversal(rdn, UNIVERSAL.SET, 'RelativeDistinguishedName'));
      if (atvs.length === 0) throw new X509Error('bad-name', 'empty RelativeDistinguishedName');
      for (const atv of atvs) {
        const [id, value, ...rest] = children(
          expectUniversal(atv, UNIVERSAL.SEQUENCE, 'AttributeTypeAndValue'),
        );
        if (rest.length) throw new X509Error('bad-name', 'AttributeTypeAndValue has extra fields');
        const dotted = decodeOid(id, 'attribute type');
        const s = decodeString(value, `attribute ${dotted}`);
        out.push({ oid: dotted, type: typeOfOid(dotted), value: s.value, stringType: s.type });
      }
    }
    return out;
  } catch (err) {
    if (err instanceof Asn1Error) throw new X509Error('bad-name', `Name: ${err.message}`, { cause: err });
    throw err;
  }
}

export function subjectAttributes(cert: CertificateInput): NameAttribute[] {
  return parseName(certificateFields(cert).subject);
}

export function issuerAttributes(cert: CertificateInput): NameAttribute[] {
  return parseName(certificateFields(cert).issuer);
}

/** The subject Name's DER, to reuse verbatim as the issuer of certificates it signs. */
export function subjectNameDer(cert: CertificateInput): Buffer {
  return certificateFields(cert).subject.raw;
}

/** Every value of one attribute type, in order. */
export function attributeValues(attrs: readonly NameAttribute[], type: NameAttributeType): string[] {
  return attrs.filter((a) => a.oid === NAME_ATTRIBUTE_OIDS[type]).map((a) => a.value);
}

/** One attribute of a name to build. `type` is a short name or a dotted OID. */
export interface NameAttributeInput {
  readonly type: NameAttributeType | string;
  readonly value: string;
  /** Defaults to PrintableString for C and serialNumber (RFC 5280 Appendix A), UTF8String otherwise. */
  readonly stringType?: StringType;
}

/** A Name with one attribute per RDN, in the given order. */
export function encodeName(attrs: readonly NameAttributeInput[]): Buffer {
  return sequence(
    ...attrs.map((a) => {
      const known = (NAME_ATTRIBUTE_OIDS as Record<string, string>)[a.type];
      const dotted = known ?? a.type;
      const defaultType: StringType =
        dotted === NAME_ATTRIBUTE_OIDS.C || dotted === NAME_ATTRIBUTE_OIDS.SERIALNUMBER
          ? 'printable'
          : 'utf8';
      try {
        return set(sequence(oid(dotted), string(a.stringType ?? defaultType, a.value)));
      } catch (err) {
        if (err instanceof Asn1Error) {
          throw new X509Error('bad-name', `name attribute ${a.type}: ${err.message}`, { cause: err });
        }
        throw err;
      }
    }),
  );
}
