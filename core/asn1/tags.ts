/** Universal tag numbers (X.690 / X.680) used by X.509 and the AMD KDS extensions. */
export const UNIVERSAL = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OBJECT_IDENTIFIER: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  TELETEX_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  VISIBLE_STRING: 26,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

export type TagClass = 'universal' | 'application' | 'context' | 'private';

/** The identifier octets' class bits (X.690 §8.1.2.2), in order 00, 01, 10, 11. */
export const TAG_CLASSES: readonly TagClass[] = ['universal', 'application', 'context', 'private'];

/** A tag as the reader reports it and the writer accepts it. */
export interface Tag {
  readonly tagClass: TagClass;
  readonly constructed: boolean;
  readonly tagNumber: number;
}
