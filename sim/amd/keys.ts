/**
 * The chip of the simulated platform. ARK and ASK keys are the fake AMD hierarchy's fixtures
 * (sim/amd/hierarchy.ts). A chip is a secret: as on real silicon, its CHIP_ID and its VCEKs are
 * derived from it, one VCEK per TCB, so a VCEK for another TCB has another key — exactly why a
 * verifier with a stale VCEK fails.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { P384_ORDER, SNP_PRODUCTS, type SnpProduct } from '../../core/snp/index.ts';
import { AmdSimError } from './errors.ts';

/** The secret of a fixture chip: fixed per product, so fixture CHIP_IDs and VCEK keys never change. */
export function fixtureChipSecret(product: SnpProduct): Buffer {
  if (!SNP_PRODUCTS.includes(product)) throw new AmdSimError('bad-option', `unknown product ${product}`);
  return crypto.createHash('sha256').update(`securekey simulated AMD ${product} chip 0`).digest();
}

export function randomChipSecret(): Buffer {
  return crypto.randomBytes(32);
}

const derive = (secret: Uint8Array, label: string, length: number): Buffer =>
  Buffer.from(crypto.hkdfSync('sha512', secret, Buffer.alloc(0), `securekey-sim ${label}`, length));

/** CHIP_ID of the chip: 64 bytes; Turin chips use only the first 8 (the rest is zero, as AMD's are). */
export function deriveChipId(secret: Uint8Array, product: SnpProduct): Buffer {
  const id = derive(secret, `chip-id ${product}`, 64);
  if (product === 'Turin') id.fill(0, 8);
  return id;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The chip's VCEK private key for `tcb` (P-384, derived from the chip secret and the TCB). */
export function deriveVcekKey(secret: Uint8Array, product: SnpProduct, tcb: bigint): KeyObject {
  return deriveP384(secret, 'vcek', product, tcb);
}

/**
 * The VLEK private key for `tcb`: AMD issues a VLEK to a cloud provider per TCB, not to a chip; here
 * the provider's secret is taken from the platform's, so each simulated platform has its own.
 */
export function deriveVlekKey(secret: Uint8Array, product: SnpProduct, tcb: bigint): KeyObject {
  return deriveP384(secret, 'vlek', product, tcb);
}

function deriveP384(secret: Uint8Array, kind: 'vcek' | 'vlek', product: SnpProduct, tcb: bigint): KeyObject {
  const tcbBytes = Buffer.alloc(8);
  tcbBytes.writeBigUInt64LE(tcb);
  const okm = derive(secret, `${kind} ${product} ${tcbBytes.toString('hex')}`, 64);
  // Reducing 512 bits modulo n−1 leaves a bias of about 2^-128: fine for a fake.
  const d = (BigInt(`0x${okm.toString('hex')}`) % (P384_ORDER - 1n)) + 1n;
  const dBytes = Buffer.from(d.toString(16).padStart(96, '0'), 'hex');
  const ecdh = crypto.createECDH('secp384r1');
  ecdh.setPrivateKey(dBytes);
  const point = ecdh.getPublicKey(); // 04 ‖ x ‖ y
  return crypto.createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-384',
      d: b64u(dBytes),
      x: b64u(point.subarray(1, 49)),
      y: b64u(point.subarray(49)),
    },
  });
}
