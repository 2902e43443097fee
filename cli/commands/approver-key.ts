import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { approverKeyId } from '../../core/approval/index.ts';
import { writeFileAtomicSync } from '../../edge/files/atomic-file.ts';
import { UsageError, type Io } from '../io.ts';

export const usage = `securekey approver-key --out <file> [--type p256|p384|ed25519|rsa] [--name <name>] [--force]

Generates an approver key: the private JWK is written to --out (mode 0600; an existing file is kept
unless --force) for \`securekey approve\` to sign with, e.g. from CI's secret store. Prints the entry to
add to the SecureKey's spec.workloads.approvers: the public key under --name (default: the file name
without its extension). --type picks EC P-256 (default), EC P-384, Ed25519 or RSA 3072.`;

const TYPES = ['p256', 'p384', 'ed25519', 'rsa'] as const;
type KeyType = (typeof TYPES)[number];

/** The CRD's limit on an approver's name. */
const MAX_NAME = 63;

function generate(type: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (type) {
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
  }
}

export function approverKeyCommand(argv: string[], io: Io): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      type: { type: 'string', default: 'p256' },
      name: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const out = values.out;
  if (!out || out === '-') {
    throw new UsageError('approver-key needs --out <file> (the private key is never printed)');
  }
  if (!(TYPES as readonly string[]).includes(values.type)) {
    throw new UsageError(`--type must be one of ${TYPES.join(', ')}`);
  }
  const name = values.name ?? path.basename(out).replace(/\.[^.]*$/, '');
  if (name === '' || name.length > MAX_NAME) {
    throw new UsageError(`the approver's name must be 1 to ${MAX_NAME} characters (--name)`);
  }
  if (!values.force && existsSync(out)) {
    throw new UsageError(`${out} exists; pass --force to replace the key it holds`);
  }
  const { privateKey, publicKey } = generate(values.type as KeyType);
  const publicJwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const kid = approverKeyId(publicJwk);
  const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid };
  // Atomic and created with its final mode: the private key is never readable by others, even briefly.
  writeFileAtomicSync(out, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
  io.err(`wrote the private approver key to ${out} (mode 0600, key id ${kid}); keep it secret\n`);
  io.out(
    `# Add to the SecureKey's spec.workloads.approvers (key id ${kid}):\n` +
      stringify([{ name, publicKey: ordered({ ...publicJwk, kid }) }], { lineWidth: 0 }),
  );
  return 0;
}

/** The JWK's members in the order people read them (kty and crv first), whatever order Node gives. */
function ordered(jwk: Record<string, unknown>): Record<string, unknown> {
  const order = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid'];
  return Object.fromEntries(
    Object.entries(jwk).sort(([a], [b]) => (order.indexOf(a) >>> 0) - (order.indexOf(b) >>> 0)),
  );
}
