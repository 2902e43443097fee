/** Starts the simulated IMDS identity endpoint on loopback, over plain HTTP as IMDS is. */
import { FaultInjector } from '../common/http.ts';
import { listenSimulator } from '../common/server-kit.ts';
import { imdsApp } from './app.ts';
import { ImdsService, type ImdsOptions } from './imds-service.ts';

export interface StartImdsOptions extends ImdsOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default an ephemeral port. */
  readonly port?: number;
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface RunningImds {
  /** `http://127.0.0.1:<port>`: what stands for `http://169.254.169.254`. */
  readonly url: string;
  readonly service: ImdsService;
  readonly faults: FaultInjector;
  close(): Promise<void>;
}

export async function startImds(options: StartImdsOptions): Promise<RunningImds> {
  const service = new ImdsService(options);
  const faults = new FaultInjector();
  const server = await listenSimulator({ host: options.host, port: options.port });
  server.attach(imdsApp(service, { faults, ...(options.log ? { log: options.log } : {}) }));
  return { url: server.url, service, faults, close: server.close };
}
