import { inject, describe, expect, it, beforeAll, afterAll } from 'vitest';
import { KubeHttp } from '../../edge/kube/kube-http.ts';

const NS = 'default';
const PATH = `/apis/securekey.io/v1alpha1/namespaces/${NS}/securekeys`;

function secureKey(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { name },
    spec: {
      vault: { url: 'https://contoso.managedhsm.azure.net' },
      key: { name, type: 'oct-HSM', size: 256 },
      attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
      workloads: { podSelector: { matchLabels: { app: name } } },
      ...spec,
    },
  };
}

interface Status {
  status: number;
  body: unknown;
}
const message = (r: Status) => (r.body as { message?: string }).message ?? '';

describe('SecureKey CRD on a real kube-apiserver', () => {
  let http: KubeHttp;
  beforeAll(() => {
    http = KubeHttp.fromFile(inject('kubeconfig'));
  });
  afterAll(() => http.close());

  it('accepts a valid SecureKey and applies the schema defaults', async () => {
    const r = await http.request('POST', PATH, { body: secureKey('valid') });
    expect(r.status, message(r)).toBe(201);
    expect((r.body as { spec: Record<string, unknown> }).spec).toMatchObject({
      mode: 'Pod',
      deletionPolicy: 'Retain',
      digestRetention: '24h',
      workloads: { policyScheme: 'kata-agent-policy', approval: 'Signed' },
    });
  });

  it('keeps an approver given as a public JWK of each kind', async () => {
    const approvers = [
      { name: 'ec', publicKey: { kty: 'EC', crv: 'P-256', x: 'AQ', y: 'Ag' } },
      { name: 'ed', publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'AQ' } },
      { name: 'rsa', publicKey: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
    ];
    const r = await http.request('POST', PATH, {
      body: secureKey('approvers', { workloads: { podSelector: {}, approvers } }),
    });
    expect(r.status, message(r)).toBe(201);
    expect((r.body as { spec: { workloads: { approvers: unknown } } }).spec.workloads.approvers).toEqual(
      approvers,
    );
  });

  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'oct-HSM on Key Vault',
      { vault: { url: 'https://contoso.vault.azure.net' } },
      /spec\.key\.type: .*oct-HSM keys exist only on Managed HSM/,
    ],
    [
      'RSA size',
      { key: { name: 'k', type: 'RSA-HSM', size: 1024 } },
      /spec\.key\.size: .*2048, 3072 or 4096/,
    ],
    [
      'RSA with curve',
      { key: { name: 'k', type: 'RSA-HSM', curve: 'P-256' } },
      /spec\.key\.size: .*no curve/,
    ],
    [
      'EC with size',
      { key: { name: 'k', type: 'EC-HSM', size: 256 } },
      /spec\.key\.size: .*EC-HSM keys take a curve/,
    ],
    ['unknown key type', { key: { name: 'k', type: 'AES' } }, /spec\.key\.type: Unsupported value: "AES"/],
    ['bad key name', { key: { name: 'no_underscores', type: 'oct-HSM' } }, /spec\.key\.name: Invalid value/],
    [
      'http authority',
      { attestation: { authorities: ['http://sharedeus.eus.attest.azure.net'] } },
      /spec\.attestation\.authorities\[0\]: .*must be https URLs/,
    ],
    [
      'uppercase digest',
      { workloads: { allowedDigests: ['CADD74F71EBB8FBF9782BAAB649612520F3C416BC5CE9AC768808DDC8D9B031C'] } },
      /spec\.workloads\.allowedDigests\[0\]: .*64 lowercase hex/,
    ],
    ['vault URL', { vault: { url: 'ftp://contoso' } }, /spec\.vault\.url: .*must be an https URL/],
    ['rotation too short', { rotation: { interval: '5m' } }, /spec\.rotation\.interval: .*from 1h to 8760h/],
    [
      'rotation too long',
      { rotation: { interval: '8761h' } },
      /spec\.rotation\.interval: .*from 1h to 8760h/,
    ],
    // Past what a Go duration holds: CEL cannot even parse it, and the API server still refuses it.
    ['rotation huge', { rotation: { interval: '99999999h' } }, /spec\.rotation\.interval/],
    ['empty rotation', { rotation: {} }, /spec\.rotation: .*needs an interval, a requestedAt or both/],
    [
      'rotation request not a time',
      { rotation: { requestedAt: 'now' } },
      /spec\.rotation\.requestedAt: .*date-time/,
    ],
    ['retention too long', { digestRetention: '721h' }, /spec\.digestRetention: .*at most 720h/],
    ['retention huge', { digestRetention: '2562047h' }, /spec\.digestRetention/],
    [
      'policy scheme',
      { workloads: { policyScheme: 'tdx' } },
      /spec\.workloads\.policyScheme: Unsupported value/,
    ],
    ['deletion policy', { deletionPolicy: 'Orphan' }, /spec\.deletionPolicy: Unsupported value/],
    [
      'a private approver key',
      {
        workloads: {
          approvers: [{ name: 'ci', publicKey: { kty: 'EC', crv: 'P-256', x: 'AQ', y: 'Ag', d: 'Aw' } }],
        },
      },
      /spec\.workloads\.approvers\[0\]\.publicKey: .*must be a public key; remove d/,
    ],
    [
      'an EC approver key without y',
      { workloads: { approvers: [{ name: 'ci', publicKey: { kty: 'EC', crv: 'P-256', x: 'AQ' } }] } },
      /spec\.workloads\.approvers\[0\]\.publicKey: .*EC keys need crv, x and y/,
    ],
    ['approval mode', { workloads: { approval: 'Anyone' } }, /spec\.workloads\.approval: Unsupported value/],
    ['mode', { mode: 'ConfidentialVM' }, /spec\.mode: Unsupported value/],
    [
      'pod digests in node mode',
      {
        mode: 'Node',
        workloads: { allowedDigests: ['cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c'] },
      },
      /spec\.workloads\.allowedDigests: .*node mode admits no pod digests/,
    ],
  ];
  it.each(invalid)('rejects %s with a message naming the field', async (_name, spec, expected) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const body = secureKey(name, spec);
    const r = await http.request('POST', PATH, { body });
    expect(r.status).toBe(422);
    expect(message(r)).toMatch(expected);
  });

  it('keeps vault, key name and key type immutable', async () => {
    expect((await http.request('POST', PATH, { body: secureKey('fixed') })).status).toBe(201);
    const current = (await http.request('GET', `${PATH}/fixed`)).body as {
      spec: { vault: { url: string }; key: { name: string; type: string; size?: number } };
    };
    current.spec.vault.url = 'https://other.managedhsm.azure.net';
    current.spec.key.name = 'renamed';
    const r = await http.request('PUT', `${PATH}/fixed`, { body: current });
    expect(r.status).toBe(422);
    expect(message(r)).toMatch(/spec\.vault is immutable/);
    expect(message(r)).toMatch(/spec\.key\.name is immutable/);
  });

  it('takes node mode with its selector and approval, and keeps the mode immutable', async () => {
    const node = secureKey('node', {
      mode: 'Node',
      attestation: {
        authorities: ['https://sharedeus.eus.attest.azure.net'],
        claims: [{ claim: 'x-ms-azurevm-default-securebootkeysvalidated', equals: 'true' }],
      },
      workloads: { podSelector: { matchLabels: { app: 'node' } }, approval: 'Observed' },
    });
    const created = await http.request('POST', PATH, { body: node });
    expect(created.status, message(created)).toBe(201);
    const current = created.body as { spec: { mode: string } };
    current.spec.mode = 'Pod';
    const r = await http.request('PUT', `${PATH}/node`, { body: current });
    expect(r.status).toBe(422);
    expect(message(r)).toMatch(/spec\.mode is immutable/);
  });

  it('prints the columns the API describes', async () => {
    const r = await http.request('GET', PATH, {
      headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    const table = r.body as {
      columnDefinitions: Array<{ name: string; priority: number }>;
      rows: Array<{ cells: unknown[] }>;
    };
    expect(table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Vault',
      'Key',
      'Mode',
      'Version',
      'Digests',
      'Age',
    ]);
    const row = table.rows.find((x) => x.cells[0] === 'valid');
    expect(row?.cells.slice(2, 5)).toEqual(['https://contoso.managedhsm.azure.net', 'valid', 'Pod']);
    expect(table.rows.find((x) => x.cells[0] === 'node')?.cells[4]).toBe('Node');
  });

  it('writes status only through the status subresource', async () => {
    const obj = (await http.request('GET', `${PATH}/valid`)).body as Record<string, unknown>;
    const withStatus = { ...obj, status: { observedGeneration: 1, key: { version: 'abc' } } };
    await http.request('PUT', `${PATH}/valid`, { body: withStatus });
    expect(
      ((await http.request('GET', `${PATH}/valid`)).body as { status?: unknown }).status,
    ).toBeUndefined();
    const r = await http.request('PUT', `${PATH}/valid/status`, {
      body: {
        ...((await http.request('GET', `${PATH}/valid`)).body as object),
        ...{ status: withStatus.status },
      },
    });
    expect(r.status).toBe(200);
    expect((r.body as { status: { key: { version: string } } }).status.key.version).toBe('abc');
  });
});
