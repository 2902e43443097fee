/**
 * Node mode, the pod's half (ADR 14): present the pod's projected token to the node agent over TLS
 * checked against the configured CA, receive the keys, write them exactly as pod mode does (atomic,
 * 0400, raw/PEM/JWK) and the readiness marker. 401/403 are final; 429, 5xx and connection failures are
 * retried until the deadline, when the node agent's Retry-After says or after a backoff. Messages never
 * carry the token or key material.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyMaterialFromPlaintext } from '../../core/keys/key-material.ts';
import { errorBody, httpRequest, retryAfterMs, type HttpResponse } from '../../edge/http/client.ts';
import { AgentError } from '../errors.ts';
import { writeKeys, type SinkKey, type WrittenKey } from '../sink/key-files.ts';
import type { NodeConfig } from './node-config.ts';

interface NodeKey {
  alias: string;
  kid: string;
  kty: string;
  plaintext: string;
  keyOps?: string[];
}

function refused(message: string, url: string, hint?: string): AgentError {
  return new AgentError('node-refused', message, {
    step: 'node-fetch',
    endpoint: url,
    ...(hint ? { hint } : {}),
  });
}

function parseAnswer(text: string, config: NodeConfig, url: string): NodeKey[] {
  let doc: { keys?: unknown };
  try {
    doc = JSON.parse(text) as { keys?: unknown };
  } catch {
    throw refused('the node agent answered with something that is not JSON', url);
  }
  if (!Array.isArray(doc.keys)) throw refused('the node agent’s answer has no keys array', url);
  const keys = doc.keys as NodeKey[];
  const asked = new Set(config.keys.map((k) => k.alias));
  for (const k of keys) {
    if (!asked.has(k?.alias))
      throw refused(`the node agent sent key ${JSON.stringify(k?.alias)}, which was not asked for`, url);
    if (typeof k.kid !== 'string' || typeof k.kty !== 'string' || typeof k.plaintext !== 'string') {
      throw refused(`the node agent’s key ${k.alias} lacks kid, kty or plaintext`, url);
    }
  }
  for (const alias of asked) {
    if (!keys.some((k) => k.alias === alias)) throw refused(`the node agent did not send key ${alias}`, url);
  }
  return keys;
}

export async function fetchFromNodeAgent(
  config: NodeConfig,
  log: (e: Record<string, unknown>) => void = () => {},
): Promise<WrittenKey[]> {
  const url = `${config.url}/v1/keys`;
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new AgentError(
        'config-invalid',
        `${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        {
          step: 'config',
          endpoint: file,
        },
      );
    }
  };
  const ca = await read(config.caFile, 'the node agent CA');
  const body = JSON.stringify({ keys: config.keys.map((k) => ({ alias: k.alias, secureKey: k.secureKey })) });
  const deadline = Date.now() + config.timeoutMs;
  let attempt = 0;
  for (;;) {
    attempt += 1;
    // Re-read each time: kubelet rotates projected tokens.
    const token = (await read(config.tokenFile, 'the pod token')).trim();
    let answer: HttpResponse | undefined;
    let failure: string;
    try {
      answer = await httpRequest(url, {
        method: 'POST',
        caPem: ca,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        timeoutMs: Math.max(1000, deadline - Date.now()),
      });
      failure = `HTTP ${answer.status}`;
    } catch (err) {
      failure = (err as Error).message;
    }
    if (answer?.status === 200) {
      const keys = parseAnswer(answer.text, config, url);
      const sink: SinkKey[] = config.keys.map((spec) => {
        const k = keys.find((x) => x.alias === spec.alias)!;
        const plaintext = Buffer.from(k.plaintext, 'base64');
        try {
          return {
            spec,
            material: keyMaterialFromPlaintext(plaintext, k.kty),
            keyOps: k.keyOps ?? [],
            kid: k.kid,
          };
        } catch (err) {
          throw refused(
            `the node agent’s key ${spec.alias} is not a ${k.kty} key: ${(err as Error).message}`,
            url,
          );
        } finally {
          plaintext.fill(0);
        }
      });
      const written = await writeKeys(sink, { readyFile: config.readyFile, fileMode: config.fileMode });
      log({
        msg: 'keys written',
        keys: written.map((w) => ({ alias: w.alias, kid: w.kid })),
        attempts: attempt,
      });
      return written;
    }
    if (
      answer &&
      (answer.status === 401 || answer.status === 403 || answer.status === 400 || answer.status === 404)
    ) {
      const why = errorBody(answer.text).message ?? '';
      throw refused(
        `the node agent refused (HTTP ${answer.status})${why ? `: ${why}` : ''}`,
        url,
        answer.status === 401
          ? 'the pod token was not accepted: check the projected token (audience securekey-node)'
          : 'check that the SecureKey exists in this namespace and selects this pod',
      );
    }
    if (Date.now() >= deadline) {
      throw new AgentError(
        'node-unavailable',
        `the node agent did not deliver the keys in time (last: ${failure})`,
        {
          step: 'node-fetch',
          endpoint: url,
          hint: 'is the node agent DaemonSet running on this node?',
        },
      );
    }
    log({ msg: 'node agent not ready; retrying', attempt, last: failure });
    // A node agent that says when (Retry-After on its 429/503) is asked again then, else after a backoff.
    const asked = retryAfterMs(answer?.headers['retry-after']);
    const backoff = Math.min(5000, 250 * 2 ** Math.min(attempt - 1, 5));
    await sleep(Math.min(asked ?? backoff, Math.max(0, deadline - Date.now())));
  }
}
