/**
 * Evidence from configfs-tsm (Linux ≥ 6.7, Documentation/ABI/testing/configfs-tsm): create an entry
 * under the report directory, write the 64-byte REPORT_DATA to `inblob`, read the report from
 * `outblob` and the certificate table from `auxblob`, then check `generation` — it counts writes, so
 * a value other than ours means another process wrote the entry in between and the report may not
 * be for our REPORT_DATA. The interface is plain files, so the same code runs on the real
 * `/sys/kernel/config/tsm/report` (node:fs/promises) and on the simulated devices' socket.
 */
import crypto from 'node:crypto';
import { AgentError } from '../errors.ts';
import { sleep } from '../retry.ts';
import type { Attester, Evidence } from './attester.ts';

/** The file operations configfs-tsm needs; node:fs/promises has this shape. */
export interface TsmFilesystem {
  mkdir(path: string): Promise<unknown>;
  rmdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
}

export const TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';

export interface TsmAttesterOptions {
  fs: TsmFilesystem;
  /** Default /sys/kernel/config/tsm/report. */
  root?: string;
  /** Backend name (`tsm`, `tsm-socket`) and how the source is described in errors. */
  name: string;
  via: string;
  attempts?: number;
}

/** errno codes worth another try: the host throttles guest requests. */
const TRANSIENT = new Set(['EBUSY', 'EAGAIN']);

export class TsmAttester implements Attester {
  readonly name: string;
  readonly #fs: TsmFilesystem;
  readonly #root: string;
  readonly #via: string;
  readonly #attempts: number;

  constructor(o: TsmAttesterOptions) {
    this.name = o.name;
    this.#fs = o.fs;
    this.#root = (o.root ?? TSM_REPORT_ROOT).replace(/\/+$/, '');
    this.#via = o.via;
    this.#attempts = o.attempts ?? 5;
  }

  get #source(): string {
    return `configfs-tsm ${this.#root}${this.#via}`;
  }

  async report(reportData: Buffer): Promise<Evidence> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(reportData);
      } catch (err) {
        const retry =
          attempt < this.#attempts &&
          ((err instanceof AgentError &&
            err.kind === 'evidence-failed' &&
            err.message.includes('generation')) ||
            TRANSIENT.has(codeOf(err) ?? ''));
        if (!retry) throw err instanceof AgentError ? err : this.#failure(err);
        await sleep(100 * 2 ** (attempt - 1));
      }
    }
  }

  async #once(reportData: Buffer): Promise<Evidence> {
    const entry = `${this.#root}/securekey-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    try {
      await this.#fs.mkdir(entry);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') {
        throw new AgentError('device-unavailable', `${this.#root} does not exist`, {
          step: 'evidence',
          endpoint: this.#source,
          hint: 'configfs-tsm needs Linux ≥ 6.7 with configfs mounted at /sys/kernel/config and the report directory visible in the container',
          cause: err,
        });
      }
      throw err;
    }
    try {
      await this.#fs.writeFile(`${entry}/inblob`, reportData);
      const report = await this.#fs.readFile(`${entry}/outblob`);
      const aux = await this.#fs.readFile(`${entry}/auxblob`).catch((err: unknown) => {
        // A provider without certificates has no auxblob content; anything else is a real failure.
        if (codeOf(err) === 'ENOENT') return Buffer.alloc(0);
        throw err;
      });
      const generation = (await this.#fs.readFile(`${entry}/generation`)).toString('latin1').trim();
      if (generation !== '1') {
        throw new AgentError(
          'evidence-failed',
          `the report entry's generation is ${generation}, not 1: another writer used it`,
          { step: 'evidence', endpoint: this.#source },
        );
      }
      return {
        report: Buffer.from(report),
        ...(aux.length > 0 ? { certTable: Buffer.from(aux) } : {}),
        source: this.#source,
      };
    } finally {
      await this.#fs.rmdir(entry).catch(() => {});
    }
  }

  #failure(err: unknown): AgentError {
    const code = codeOf(err);
    const causes: Record<string, string> = {
      ENOTTY: "the guest kernel disabled its VMPCK after a failed request; the pod's VM must restart",
      EIO: 'the firmware or hypervisor failed the request',
      ENXIO: 'no TSM provider (sev_guest) is registered, or the firmware refused the request',
      EINVAL: 'the kernel refused the request (inblob or privlevel)',
      EBUSY: 'the host kept throttling report requests',
      EAGAIN: 'the host kept throttling report requests',
      EACCES: 'the agent may not write the report directory (run the init container with access to configfs)',
    };
    return new AgentError(
      'evidence-failed',
      `configfs-tsm report request failed: ${code ?? (err as Error).message}`,
      {
        step: 'evidence',
        endpoint: this.#source,
        ...(code !== undefined && causes[code] ? { hint: causes[code] } : {}),
        cause: err,
      },
    );
  }
}

export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
