/**
 * Evidence from the simulated PSP (sim/psp, SIMULATORS ONLY): the pod asks for its report over HTTPS,
 * authenticated by its projected service-account token, as the sandbox's pods do. The PSP sets
 * HOST_DATA from this pod's own policy annotation; the pod sends only REPORT_DATA. The answer carries
 * the THIM-style VCEK chain, so no second call is needed.
 */
import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors.ts';
import { errorBody, httpRequest } from '../../edge/http/client.ts';
import { withRetry } from '../retry.ts';
import type { Attester, Evidence } from './attester.ts';
import { referenceInfoFrom } from './uvm-context.ts';

export const PSP_REPORT_PATH = '/v1/report';

export interface PspAttesterOptions {
  url: string;
  /** Read at every call: projected tokens are rotated by the kubelet. */
  tokenFile: string;
  caPem?: string;
  deadline?: number;
}

interface PspAnswer {
  report?: unknown;
  vcekCert?: unknown;
  certificateChain?: unknown;
  /** The simulated host's UVM reference info for this pod's launch (base64 COSE_Sign1), as a real host mounts it. */
  referenceInfo?: unknown;
}

export class PspAttester implements Attester {
  readonly name = 'psp';
  readonly #o: PspAttesterOptions;

  constructor(options: PspAttesterOptions) {
    this.#o = options;
  }

  async report(reportData: Buffer): Promise<Evidence> {
    const endpoint = new URL(PSP_REPORT_PATH, this.#o.url).toString();
    const token = await this.#token();
    const body = JSON.stringify({ reportData: reportData.toString('hex') });
    const answer = await withRetry(
      async () => {
        let res;
        try {
          res = await httpRequest(endpoint, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body,
            ...(this.#o.caPem === undefined ? {} : { caPem: this.#o.caPem }),
          });
        } catch (err) {
          throw new AgentError('evidence-failed', `the PSP did not answer: ${(err as Error).message}`, {
            step: 'evidence',
            endpoint,
            cause: err,
          });
        }
        if (res.status !== 200) throw refusal(res.status, res.text, endpoint, this.#o.tokenFile);
        return res.text;
      },
      {
        attempts: 4,
        baseDelayMs: 200,
        retryable: (err) => err instanceof AgentError && err.kind === 'evidence-failed',
        ...(this.#o.deadline === undefined ? {} : { deadline: this.#o.deadline }),
      },
    );
    let doc: PspAnswer;
    try {
      doc = JSON.parse(answer) as PspAnswer;
    } catch {
      throw new AgentError('evidence-malformed', 'the PSP answer is not JSON', {
        step: 'evidence',
        endpoint,
      });
    }
    const { report, vcekCert, certificateChain } = doc;
    if (typeof report !== 'string' || typeof vcekCert !== 'string' || typeof certificateChain !== 'string') {
      throw new AgentError(
        'evidence-malformed',
        'the PSP answer lacks report, vcekCert or certificateChain',
        {
          step: 'evidence',
          endpoint,
        },
      );
    }
    const { referenceInfo } = doc;
    return {
      report: Buffer.from(report, 'base64'),
      vcekChainPem: vcekCert + certificateChain,
      source: `simulated PSP ${endpoint}`,
      ...(typeof referenceInfo === 'string' && referenceInfo !== ''
        ? { uvmReferenceInfo: referenceInfoFrom(referenceInfo, `simulated PSP ${endpoint} (referenceInfo)`) }
        : {}),
    };
  }

  async #token(): Promise<string> {
    try {
      const token = (await readFile(this.#o.tokenFile, 'utf8')).trim();
      if (token !== '') return token;
    } catch (err) {
      throw new AgentError(
        'evidence-refused',
        `cannot read the pod's PSP token (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        {
          step: 'evidence',
          endpoint: this.#o.tokenFile,
          hint: 'mount a projected service-account token whose audience is the PSP',
        },
      );
    }
    throw new AgentError('evidence-refused', "the pod's PSP token file is empty", {
      step: 'evidence',
      endpoint: this.#o.tokenFile,
    });
  }
}

function refusal(status: number, text: string, endpoint: string, tokenFile: string): AgentError {
  const { code, message } = errorBody(text);
  const said = `${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  if (status === 401) {
    return new AgentError('evidence-refused', `the PSP did not accept the pod's token (${said})`, {
      step: 'evidence',
      endpoint,
      hint: `check the token in ${tokenFile}: audience and expiry`,
    });
  }
  if (status === 403 || status === 422 || status === 400) {
    return new AgentError('evidence-refused', `the PSP refused this pod (${said})`, {
      step: 'evidence',
      endpoint,
      ...(status === 422 ? { hint: "the pod's policy annotation is missing or malformed" } : {}),
    });
  }
  return new AgentError('evidence-failed', `the PSP answered ${said}`, { step: 'evidence', endpoint });
}
