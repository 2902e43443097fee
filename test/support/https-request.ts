/** A bare HTTPS request for tests that must see status, headers and body exactly as sent. */
import type { IncomingHttpHeaders } from 'node:http';
import { httpRequest, jsonBody } from '../../edge/http/client.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body as JSON; undefined when it is not JSON. */
  json: unknown;
}

export async function httpsRequest(
  url: string,
  options: { caPem: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const res = await httpRequest(url, { ...options, maxBytes: 16 << 20 });
  return { status: res.status, headers: res.headers, text: res.text, json: jsonBody(res) };
}
