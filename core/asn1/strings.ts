/** The character string types X.509 uses, with DER's character-set rules. */
import { Asn1Error } from './errors.ts';
import { UNIVERSAL } from './tags.ts';

export type StringType = 'utf8' | 'printable' | 'ia5' | 'visible' | 'teletex' | 'bmp' | 'universal';

export const STRING_TAGS: Readonly<Record<StringType, number>> = {
  utf8: UNIVERSAL.UTF8_STRING,
  printable: UNIVERSAL.PRINTABLE_STRING,
  ia5: UNIVERSAL.IA5_STRING,
  visible: UNIVERSAL.VISIBLE_STRING,
  teletex: UNIVERSAL.TELETEX_STRING,
  bmp: UNIVERSAL.BMP_STRING,
  universal: UNIVERSAL.UNIVERSAL_STRING,
};

/** The string type for a universal tag number, or undefined when it is not a string type. */
export function stringTypeOfTag(tagNumber: number): StringType | undefined {
  for (const [type, tag] of Object.entries(STRING_TAGS)) if (tag === tagNumber) return type as StringType;
  return undefined;
}

// X.680 §41.4: PrintableString is letters, digits, space and ' ( ) + , - . / : = ?
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// eslint-disable-next-line no-control-regex -- IA5 is exactly the 7-bit range, controls included.
const IA5 = /^[\x00-\x7f]*$/;
const VISIBLE = /^[\x20-\x7e]*$/;
// eslint-disable-next-line no-control-regex -- Latin-1 includes the C0 and C1 controls.
const LATIN1 = /^[\x00-\xff]*$/;

/** Encodes `text` as the contents of a string of `type`, rejecting characters the type cannot hold. */
export function encodeStringContents(type: StringType, text: string): Buffer {
  const bad = (why: string): never => {
    throw new Asn1Error('bad-string', `cannot encode "${text}" as ${type}String: ${why}`);
  };
  switch (type) {
    case 'utf8':
      if (!text.isWellFormed()) bad('lone surrogate');
      return Buffer.from(text, 'utf8');
    case 'printable':
      if (!PRINTABLE.test(text)) bad('character outside the PrintableString set');
      return Buffer.from(text, 'latin1');
    case 'ia5':
      if (!IA5.test(text)) bad('character outside 7-bit ASCII');
      return Buffer.from(text, 'latin1');
    case 'visible':
      if (!VISIBLE.test(text)) bad('character outside printable ASCII');
      return Buffer.from(text, 'latin1');
    case 'teletex':
      // T.61 is treated as Latin-1, as most X.509 software does.
      if (!LATIN1.test(text)) bad('character outside Latin-1');
      return Buffer.from(text, 'latin1');
    case 'bmp': {
      const out = Buffer.alloc(text.length * 2);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdfff) bad('character outside the Basic Multilingual Plane');
        out.writeUInt16BE(c, i * 2);
      }
      return out;
    }
    case 'universal': {
      const cps = [...text].map((ch) => ch.codePointAt(0)!);
      const out = Buffer.alloc(cps.length * 4);
      cps.forEach((cp, i) => out.writeUInt32BE(cp, i * 4));
      return out;
    }
  }
}

/** Decodes string contents of `type`, rejecting bytes the type does not allow. */
export function decodeStringContents(type: StringType, contents: Uint8Array, offset?: number): string {
  const bytes = Buffer.from(contents);
  const bad = (why: string): never => {
    throw new Asn1Error('bad-string', `${type}String: ${why}`, offset);
  };
  switch (type) {
    case 'utf8':
      try {
        return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        return bad('invalid UTF-8');
      }
    case 'printable': {
      const text = bytes.toString('latin1');
      return PRINTABLE.test(text) ? text : bad('character outside the PrintableString set');
    }
    case 'ia5': {
      const text = bytes.toString('latin1');
      return IA5.test(text) ? text : bad('byte outside 7-bit ASCII');
    }
    case 'visible': {
      const text = bytes.toString('latin1');
      return VISIBLE.test(text) ? text : bad('byte outside printable ASCII');
    }
    case 'teletex':
      return bytes.toString('latin1');
    case 'bmp': {
      if (bytes.length % 2) bad('odd length');
      let text = '';
      for (let i = 0; i < bytes.length; i += 2) text += String.fromCharCode(bytes.readUInt16BE(i));
      return text;
    }
    case 'universal': {
      if (bytes.length % 4) bad('length not a multiple of 4');
      let text = '';
      for (let i = 0; i < bytes.length; i += 4) {
        const cp = bytes.readUInt32BE(i);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad(`invalid code point ${cp}`);
        text += String.fromCodePoint(cp);
      }
      return text;
    }
  }
}
