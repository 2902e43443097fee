/** A bare HTTPS request for tests that must see status, headers and body exactly as sent. */
import https from 'node:https';
import { httpsAgent } from '../../edge/http/https-agent.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export function httpsRequest(
  url: string,
  options: { caPem: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const agent = httpsAgent({ caPem: options.caPem, keepAlive: false });
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
