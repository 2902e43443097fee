import { describe, expect, it } from 'vitest';
import { AgentError, type AgentErrorKind } from '../errors.ts';
import { parseNodeConfig } from './node-config.ts';

const ENV = { SECUREKEY_NODE_AGENT_URL: 'https://node-agent.local:8443', SECUREKEY_NODE_AGENT_CA: '/ca.crt' };

function refused(argv: string[], env: Record<string, string>, kind: AgentErrorKind): AgentError {
  try {
    parseNodeConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).kind).toBe(kind);
    return err as AgentError;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseNodeConfig', () => {
  it('takes --flag value as well as --flag=value, and the variables when no flag is given', () => {
    const c = parseNodeConfig(
      ['node', '--key', 'db=db-key', '--token-file', '/t/token', '--timeout=30s'],
      ENV,
    );
    expect(c).toMatchObject({
      url: 'https://node-agent.local:8443',
      caFile: '/ca.crt',
      tokenFile: '/t/token',
      timeoutMs: 30_000,
      keys: [{ alias: 'db', secureKey: 'db-key', format: 'raw', path: '/run/securekey/db' }],
    });
    expect(parseNodeConfig(['node', '--key=db=db-key'], ENV).tokenFile).toBe(
      '/var/run/secrets/securekey/node/token',
    );
  });

  it('refuses flags of the other modes, a flag given twice, and names the variable a bad value came from', () => {
    expect(
      refused(['node', '--key=db=db-key', '--vault-url=https://kv'], ENV, 'config-invalid').message,
    ).toBe('unknown flag --vault-url');
    expect(
      refused(
        ['node', '--key=db=db-key', '--node-agent-url=https://a', '--node-agent-url=https://b'],
        ENV,
        'config-invalid',
      ).message,
    ).toBe('--node-agent-url is given twice');
    expect(
      refused(['node', '--key=db=db-key'], { ...ENV, SECUREKEY_NODE_AGENT_URL: 'http://n' }, 'config-invalid')
        .message,
    ).toBe('SECUREKEY_NODE_AGENT_URL http://n must be https');
    expect(
      refused(['node', '--key=db=db-key'], { ...ENV, SECUREKEY_TIMEOUT: '2m' }, 'config-invalid').message,
    ).toBe('SECUREKEY_TIMEOUT="2m": expected seconds such as 120s');
    expect(refused(['init', '--key=db=db-key'], ENV, 'config-invalid').message).toBe(
      'mode "init" is not node mode',
    );
    expect(refused(['node'], ENV, 'config-missing').message).toBe('no --key=<alias>=<SecureKey> given');
  });
});
