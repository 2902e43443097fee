/**
 * `securekey rotate`: ask the operator for a new key version now. It sets spec.rotation.requestedAt; the
 * operator replaces a current version created before that moment (judged from the vault's creation time,
 * so the request is honoured once) and gives the new version the current release policy. Pods started
 * afterwards get the new version; running pods keep the key they hold.
 */
import { parseArgs } from 'node:util';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { durationMs } from '../../core/duration.ts';
import { SecureKeyError } from '../../core/errors.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { defaultKubeAccess, kubeAccessFromFile } from '../../edge/kube/kubeconfig.ts';
import { readSecureKey, secureKeyPath } from '../../edge/kube/secure-keys.ts';
import { UsageError, type Io } from '../io.ts';

export const usage = `securekey rotate --securekey <namespace>/<name> [--kubeconfig <file>]
                 [--timeout <duration>] [--no-wait]

Asks the operator for a new version of the SecureKey's vault key now, with the current release policy:
sets spec.rotation.requestedAt to this moment (needs patch on securekeys). A version created before it
is replaced once; setting it again later rotates again. spec.rotation.interval, if any, keeps counting
from the new version. Pods started afterwards get the new version; running pods keep the key they hold.

Waits until the SecureKey's status names a new version, and prints it.

  --timeout  how long to wait for the new version (default 2m)
  --no-wait  return once the request is recorded`;

export type RotateErrorKind = 'no-secure-key' | 'not-rotated';

export class RotateError extends SecureKeyError<RotateErrorKind> {}

export interface RotateDeps {
  /** The cluster; from --kubeconfig or the default kubeconfig when absent. */
  kube?: KubeHttp;
  now?: () => Date;
  /** Between reads of the SecureKey while waiting. */
  pollMs?: number;
}

function readyMessage(sk: SecureKey | undefined): string {
  const ready = sk?.status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined
    ? 'the operator has not reported on it'
    : `Ready=${ready.status} ${ready.reason}: ${ready.message}`;
}

export async function rotateCommand(argv: string[], io: Io, deps: RotateDeps = {}): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      securekey: { type: 'string' },
      kubeconfig: { type: 'string' },
      timeout: { type: 'string', default: '2m' },
      'no-wait': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const ref = values.securekey ?? '';
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  if (!m) throw new UsageError('rotate needs --securekey <namespace>/<name>');
  const [, namespace, name] = m as unknown as [string, string, string];
  const timeout = durationMs(values.timeout);
  if ('problem' in timeout)
    throw new UsageError(`--timeout ${JSON.stringify(values.timeout)} is not a duration`);

  const kube =
    deps.kube ??
    new KubeHttp(
      values.kubeconfig !== undefined ? kubeAccessFromFile(values.kubeconfig) : defaultKubeAccess(),
    );
  try {
    const before = await readSecureKey(kube, namespace, name);
    if (before === undefined) throw new RotateError('no-secure-key', `SecureKey ${ref} does not exist`);
    const previous = before.status?.key?.version;
    const requestedAt = (deps.now ?? (() => new Date()))().toISOString();
    await kube.expect('PATCH', secureKeyPath(namespace, name), [200], {
      body: { spec: { rotation: { requestedAt } } },
      contentType: 'application/merge-patch+json',
    });
    io.out(
      `requested a new version of SecureKey ${ref} at ${requestedAt} (current: ${previous ?? 'none yet'})\n`,
    );
    if (values['no-wait']) return 0;

    const deadline = Date.now() + timeout.ms;
    let last: SecureKey | undefined = before;
    for (;;) {
      last = await readSecureKey(kube, namespace, name);
      const version = last?.status?.key?.version;
      if (version !== undefined && version !== previous) {
        io.out(
          `rotated: version ${version}${last?.status?.key?.createdAt ? ` created ${last.status.key.createdAt}` : ''}\n`,
        );
        return 0;
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
    }
    throw new RotateError(
      'not-rotated',
      `SecureKey ${ref} names no new version after ${values.timeout} (${readyMessage(last)}); the request stays in spec.rotation.requestedAt and the operator acts on it when it can`,
    );
  } finally {
    if (deps.kube === undefined) kube.close();
  }
}
