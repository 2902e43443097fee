export { Asn1Error, type Asn1ErrorKind } from './errors.ts';
export {
  bigintToNumber,
  decodeIntegerContents,
  encodeIntegerContents,
  unsignedIntegerContents,
} from './integer.ts';
export { decodeOidContents, encodeOidContents } from './oid.ts';
export {
  children,
  describeTag,
  expectTag,
  expectUniversal,
  isContext,
  isUniversal,
  parseDer,
  parseTree,
  readTlv,
  type Asn1Node,
  type Tlv,
} from './reader.ts';
export { decodeStringContents, encodeStringContents, stringTypeOfTag, type StringType } from './strings.ts';
export { TAG_CLASSES, UNIVERSAL, type Tag, type TagClass } from './tags.ts';
export {
  decodeGeneralizedTime,
  decodeUtcTime,
  encodeGeneralizedTimeContents,
  encodeUtcTimeContents,
  usesUtcTime,
} from './time.ts';
export {
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeNull,
  decodeOctetString,
  decodeOid,
  decodeSmallInteger,
  decodeString,
  decodeStringOf,
  decodeTime,
  type BitString,
  type DecodedString,
} from './values.ts';
export {
  bitString,
  boolean,
  contextPrimitive,
  encodeLength,
  encodeTag,
  encodeTlv,
  explicit,
  generalizedTime,
  ia5String,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  printableString,
  sequence,
  set,
  string,
  time,
  unsignedInteger,
  utcTime,
  utf8String,
} from './writer.ts';
