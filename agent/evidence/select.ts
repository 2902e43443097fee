/**
 * The configured evidence backend. The real ones talk to the guest kernel (configfs-tsm files;
 * `/dev/sev-guest` and ACI's `/dev/sev` through the native helper); the simulated ones (the PSP service, the devices' Unix socket) are accepted only
 * when simulators are enabled, which config.ts enforces.
 */
import fs from 'node:fs/promises';
import { DEFAULT_SEV_HELPER, type AgentConfig } from '../config.ts';
import { AgentError } from '../errors.ts';
import type { Attester } from './attester.ts';
import { DeviceSocket } from './device-socket.ts';
import { PspAttester } from './psp.ts';
import { SevAciAttester } from './sev-aci.ts';
import { SevGuestDeviceAttester, SevGuestSocketAttester } from './sev-guest.ts';
import { TSM_REPORT_ROOT, TsmAttester } from './tsm.ts';

export interface AttesterContext {
  caPem?: string;
  deadline?: number;
}

export async function attesterFor(config: AgentConfig, context: AttesterContext = {}): Promise<Attester> {
  switch (config.evidence) {
    case 'tsm':
      return new TsmAttester({ name: 'tsm', fs, root: TSM_REPORT_ROOT, via: '' });
    case 'sev-guest':
    case 'sev': {
      const options = {
        helper: config.sevHelper ?? DEFAULT_SEV_HELPER,
        ...(context.deadline === undefined ? {} : { deadline: context.deadline }),
      };
      return config.evidence === 'sev' ? new SevAciAttester(options) : new SevGuestDeviceAttester(options);
    }
    case 'psp':
      return new PspAttester({
        url: config.pspUrl!,
        tokenFile: config.pspTokenFile!,
        ...(context.caPem === undefined ? {} : { caPem: context.caPem }),
        ...(context.deadline === undefined ? {} : { deadline: context.deadline }),
      });
    case 'sev-guest-socket':
    case 'tsm-socket': {
      const socket = await connect(config.deviceSocket!);
      const attester: Attester =
        config.evidence === 'tsm-socket'
          ? new TsmAttester({ name: 'tsm-socket', fs: socket.tsm, via: ` via ${socket.path}` })
          : new SevGuestSocketAttester({ socket });
      return Object.assign(attester, { close: () => socket.close() });
    }
  }
}

async function connect(path: string): Promise<DeviceSocket> {
  try {
    return await DeviceSocket.connect(path);
  } catch (err) {
    throw new AgentError(
      'device-unavailable',
      `cannot connect to the simulated devices' socket (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      {
        step: 'evidence',
        endpoint: path,
        hint: 'is the simulated guest serving its devices there?',
        cause: err,
      },
    );
  }
}
