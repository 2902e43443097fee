import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../../core/errors.ts';
import { AgentError } from '../errors.ts';
import { parseNodeServerConfig } from './config.ts';

const env = {
  NODE_NAME: 'aks-cvm-0',
  SECUREKEY_NODE_SERVER_TLS_CERT: '/tls/tls.crt',
  SECUREKEY_NODE_SERVER_TLS_KEY: '/tls/tls.key',
  SECUREKEY_NODE_KEY_SOURCE: 'pod-attestation',
};

describe('parseNodeServerConfig', () => {
  it('reads the node from the downward API and defaults the bounds', () => {
    expect(parseNodeServerConfig(['node-server'], env)).toEqual({
      port: 8443,
      certFile: '/tls/tls.crt',
      keyFile: '/tls/tls.key',
      nodeName: 'aks-cvm-0',
      runtimeClasses: [],
      maxInFlight: 64,
      requestTimeoutMs: 30_000,
      secureKeyTtlMs: 5_000,
      keySource: 'pod-attestation',
      tpm: '/dev/tpmrm0',
      tcgLog: '/sys/kernel/security/tpm0/binary_bios_measurements',
    });
  });

  it('takes the vTPM of the azure-guest source as a device or a socket', () => {
    const c = parseNodeServerConfig(['node-server', '--key-source=azure-guest'], {
      ...env,
      SECUREKEY_TPM: 'unix:/run/vtpm/tpm.sock',
    });
    expect([c.keySource, c.tpm]).toEqual(['azure-guest', 'unix:/run/vtpm/tpm.sock']);
  });

  it('takes the TCG event log from --tcg-log or SECUREKEY_TCG_LOG, an absolute path', () => {
    const variable = { ...env, SECUREKEY_TCG_LOG: '/run/vtpm/binary_bios_measurements' };
    expect(parseNodeServerConfig(['node-server'], variable).tcgLog).toBe(
      '/run/vtpm/binary_bios_measurements',
    );
    expect(parseNodeServerConfig(['node-server', '--tcg-log=/host/log'], variable).tcgLog).toBe('/host/log');
  });

  it('takes flags over variables', () => {
    const c = parseNodeServerConfig(
      [
        'node-server',
        '--port=9443',
        '--runtime-classes=runc, cvm',
        '--max-in-flight',
        '8',
        '--securekey-ttl=1s',
      ],
      env,
    );
    expect([c.port, c.runtimeClasses, c.maxInFlight, c.secureKeyTtlMs]).toEqual([
      9443,
      ['runc', 'cvm'],
      8,
      1000,
    ]);
  });

  it.each([
    [['node-server'], { NODE_NAME: undefined }, 'NODE_NAME (or --node-name) is not set'],
    [
      ['node-server'],
      { SECUREKEY_NODE_SERVER_TLS_CERT: undefined },
      'SECUREKEY_NODE_SERVER_TLS_CERT (or --tls-cert) is not set',
    ],
    [['node-server'], { SECUREKEY_NODE_KEY_SOURCE: 'vault' }, 'expected one of azure-guest, pod-attestation'],
    [['node-server', '--max-in-flight=0'], {}, 'expected a whole number from 1 to 10000'],
    [['node-server', '--node-name=Node_1'], {}, 'is not a node name'],
    [['node'], {}, 'is not node-server'],
    [['node-server', '--key=db=db-key'], {}, 'unknown flag --key'],
    [
      ['node-server', '--tcg-log=measurements.bin'],
      {},
      '--tcg-log="measurements.bin" must be an absolute path',
    ],
  ])('refuses %j with %j', (argv, over, message) => {
    let err: unknown;
    try {
      parseNodeServerConfig(argv, { ...env, ...over });
    } catch (e) {
      err = e;
    }
    expect(err instanceof AgentError && isErrorOf(err, AgentError)).toBe(true);
    expect((err as Error).message).toContain(message);
  });
});
