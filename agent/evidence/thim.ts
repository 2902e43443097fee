/**
 * Azure's THIM (Trusted Hardware Identity Management) through IMDS:
 * `GET /metadata/THIM/amd/certification` with `Metadata: true` → `{vcekCert, tcbm, certificateChain}`
 * for the platform's current TCB, or with `?tcbVersion=<16 hex>&platformId=<CHIP_ID hex>&productName=`
 * for a given one — what the agent asks when the cached VCEK is for another TCB than the report's.
 */
import { AgentError } from '../errors.ts';
import { errorBody, httpRequest } from '../../edge/http/client.ts';
import { withRetry } from '../retry.ts';

export const THIM_PATH = '/metadata/THIM/amd/certification';

export interface ThimCertification {
  vcekCert: string;
  /** The VCEK's TCB as the u64 in 16 hex digits. */
  tcbm: string;
  /** ASK then ARK, PEM. */
  certificateChain: string;
}

export interface ThimQuery {
  tcbVersion: bigint;
  platformId: Buffer;
  productName: string;
}

export interface ThimClientOptions {
  url: string;
  caPem?: string;
  deadline?: number;
}

export class ThimClient {
  readonly url: string;
  readonly #o: ThimClientOptions;

  constructor(o: ThimClientOptions) {
    this.url = o.url;
    this.#o = o;
  }

  /** The platform's current certification, or the one for `query`'s TCB. */
  certification(query?: ThimQuery): Promise<ThimCertification> {
    const url = new URL(THIM_PATH, this.url);
    if (query) {
      url.searchParams.set('tcbVersion', query.tcbVersion.toString(16).padStart(16, '0'));
      url.searchParams.set('platformId', query.platformId.toString('hex'));
      url.searchParams.set('productName', query.productName);
    }
    const endpoint = url.toString();
    return withRetry(
      async () => {
        let res;
        try {
          res = await httpRequest(endpoint, {
            headers: { Metadata: 'true' },
            ...(this.#o.caPem === undefined ? {} : { caPem: this.#o.caPem }),
          });
        } catch (err) {
          throw unavailable(`THIM did not answer: ${(err as Error).message}`, endpoint, true, err);
        }
        if (res.status !== 200) {
          const { message } = errorBody(res.text);
          throw unavailable(
            `THIM answered ${res.status}${message ? `: ${message}` : ''}`,
            endpoint,
            res.status === 429 || res.status >= 500,
          );
        }
        return parseCertification(res.text, endpoint);
      },
      {
        attempts: 4,
        baseDelayMs: 200,
        retryable: (err) => err instanceof RetryableError,
        ...(this.#o.deadline === undefined ? {} : { deadline: this.#o.deadline }),
      },
    ).catch((err: unknown) => {
      throw err instanceof RetryableError ? err.error : err;
    });
  }
}

/** Marks a failure worth another try, carrying the error to surface if none succeeds. */
class RetryableError extends Error {
  readonly error: AgentError;
  constructor(error: AgentError) {
    super(error.message);
    this.error = error;
  }
}

function unavailable(message: string, endpoint: string, retryable: boolean, cause?: unknown): Error {
  const error = new AgentError('certificates-unavailable', message, {
    step: 'certificates',
    endpoint,
    hint: 'THIM is Azure IMDS (169.254.169.254); off Azure, use the certificate table (SECUREKEY_VCEK_SOURCE=evidence)',
    ...(cause === undefined ? {} : { cause }),
  });
  return retryable ? new RetryableError(error) : error;
}

/** THIM's JSON (also the UVM security context's host-amd-cert), or an error naming where it came from. */
export function parseCertification(text: string, endpoint: string): ThimCertification {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw unavailable('THIM answered with something other than JSON', endpoint, false);
  }
  const { vcekCert, tcbm, certificateChain } = doc;
  if (typeof vcekCert !== 'string' || typeof tcbm !== 'string' || typeof certificateChain !== 'string') {
    throw unavailable('THIM answer lacks vcekCert, tcbm or certificateChain', endpoint, false);
  }
  return { vcekCert, tcbm, certificateChain };
}
