/**
 * GET a small JSON document over HTTPS, as a service fetching an issuer's OIDC metadata and keys does:
 * https only, a deadline, a size cap, and the CA the caller trusts (see edge/azure/https-agent.ts).
 */
import https from 'node:https';
import type { Agent } from 'node:https';

export interface FetchJsonOptions {
  agent: Agent;
  timeoutMs?: number;
  /** Bodies larger than this are refused (the SKR sidecar caps its reads at 1 MiB too). */
  maxBytes?: number;
}

export function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  const { agent, timeoutMs = 5000, maxBytes = 1 << 20 } = options;
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`${JSON.stringify(url)} is not a URL`));
      return;
    }
    if (target.protocol !== 'https:') {
      reject(new Error(`${url} is not an https URL`));
      return;
    }
    const req = https.get(
      target,
      { agent, headers: { accept: 'application/json' }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new Error(`${url} answered more than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${url} answered HTTP ${res.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`${url} did not answer JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
