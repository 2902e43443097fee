/**
 * The runtime claims Azure's paravisor puts in the HCL report's variable data (the JSON MAA shows
 * as `x-ms-isolation-tee.x-ms-runtime`): the vTPM's AK as a JWK (`HCLAkPub`), the VM's
 * configuration, and the hex of the user data the guest last wrote to NV 0x01400002.
 */
import type { KeyObject } from 'node:crypto';

export interface VmConfiguration {
  readonly 'console-enabled': boolean;
  readonly 'secure-boot': boolean;
  readonly 'tpm-enabled': boolean;
  readonly vmUniqueId: string;
}

export function runtimeClaims(ak: KeyObject, vm: VmConfiguration, userData: Uint8Array, now: Date): Buffer {
  const { n, e } = ak.export({ format: 'jwk' });
  const claims = {
    keys: [{ e, key_ops: ['encrypt'], kid: 'HCLAkPub', kty: 'RSA', n }],
    'vm-configuration': {
      'console-enabled': vm['console-enabled'],
      'current-time': Math.floor(now.getTime() / 1000),
      'secure-boot': vm['secure-boot'],
      'tpm-enabled': vm['tpm-enabled'],
      vmUniqueId: vm.vmUniqueId,
    },
    'user-data': Buffer.from(userData).toString('hex').toUpperCase(),
  };
  return Buffer.from(JSON.stringify(claims));
}
