import { describe, expect, it } from 'vitest';
import { composeTcb, decomposeTcb, productFromCpuid, SnpFormatError, tcbLayout } from './index.ts';
import { expectKind, thim } from '../../test/support/snp.ts';

const le = (hex: string): bigint => Buffer.from(hex, 'hex').readBigUInt64LE();

describe('TCB_VERSION layouts', () => {
  it('decomposes the real Milan tcbm as bl 3, tee 0, snp 8, ucode 115', () => {
    const raw = BigInt(`0x${thim.tcbm}`);
    expect(decomposeTcb(raw, 'Milan')).toEqual({
      fmcSpl: undefined,
      blSpl: 3,
      teeSpl: 0,
      snpSpl: 8,
      ucodeSpl: 115,
      reserved: [0, 0, 0, 0],
    });
  });

  it('places each component at its byte for Milan/Genoa and for Turin', () => {
    expect(decomposeTcb(le('0102030405060708'), 'Genoa')).toEqual({
      fmcSpl: undefined,
      blSpl: 1,
      teeSpl: 2,
      reserved: [3, 4, 5, 6],
      snpSpl: 7,
      ucodeSpl: 8,
    });
    expect(decomposeTcb(le('0102030405060708'), 'Turin')).toEqual({
      fmcSpl: 1,
      blSpl: 2,
      teeSpl: 3,
      snpSpl: 4,
      reserved: [5, 6, 7],
      ucodeSpl: 8,
    });
    expect(tcbLayout('Milan')).toBe('milan-genoa');
    expect(tcbLayout('Turin')).toBe('turin');
  });

  it('composes back to the same u64 for any bytes', () => {
    for (const hex of ['0000000000000000', 'ffffffffffffffff', '0300000000000873', '09010018000000d2']) {
      for (const product of ['Milan', 'Genoa', 'Turin'] as const) {
        expect(composeTcb(decomposeTcb(le(hex), product), product)).toBe(le(hex));
      }
    }
    expect(composeTcb({ fmcSpl: 2, blSpl: 9, teeSpl: 1, snpSpl: 24, ucodeSpl: 210 }, 'Turin')).toBe(
      le('02090118000000d2'),
    );
    expect(composeTcb({ blSpl: 9, teeSpl: 1, snpSpl: 24, ucodeSpl: 210 }, 'Milan')).toBe(
      le('09010000000018d2'),
    );
  });

  it('rejects components that do not fit', () => {
    expectKind(
      () => composeTcb({ blSpl: 256, teeSpl: 0, snpSpl: 0, ucodeSpl: 0 }, 'Milan'),
      SnpFormatError,
      'bad-tcb',
    );
    expectKind(
      () => composeTcb({ blSpl: 0, teeSpl: -1, snpSpl: 0, ucodeSpl: 0 }, 'Milan'),
      SnpFormatError,
      'bad-tcb',
    );
    expectKind(
      () => composeTcb({ fmcSpl: 1, blSpl: 0, teeSpl: 0, snpSpl: 0, ucodeSpl: 0 }, 'Genoa'),
      SnpFormatError,
      'bad-tcb',
    );
    expectKind(
      () => composeTcb({ blSpl: 0, teeSpl: 0, snpSpl: 0, ucodeSpl: 0, reserved: [0, 0, 0, 0] }, 'Turin'),
      SnpFormatError,
      'bad-tcb',
    );
    expectKind(() => decomposeTcb(1n << 64n, 'Milan'), SnpFormatError, 'bad-tcb');
  });
});

describe('productFromCpuid', () => {
  it.each([
    [0x19, 0x01, 'Milan'],
    [0x19, 0x00, 'Milan'],
    [0x19, 0x11, 'Genoa'],
    [0x19, 0xa0, 'Genoa'],
    [0x1a, 0x02, 'Turin'],
    [0x1a, 0x11, 'Turin'],
  ] as const)('family 0x%s model 0x%s is %s', (family, model, product) => {
    expect(productFromCpuid({ family, model })).toBe(product);
  });

  it.each([
    [0x17, 0x31],
    [0x19, 0x21],
    [0x1a, 0x20],
    [0, 0],
  ])('family 0x%s model 0x%s is unknown', (family, model) => {
    expectKind(() => productFromCpuid({ family, model }), SnpFormatError, 'unknown-product');
  });
});
