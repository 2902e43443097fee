#!/usr/bin/env node
// `npm run sandbox`: every simulator on localhost, and the environment a client needs. SIMULATORS ONLY.
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeTokenFiles } from './identities.ts';
import { AZURE_NAMES, startSandbox } from './sandbox.ts';

const { values } = parseArgs({
  options: {
    dir: {
      type: 'string',
      default: path.join(process.env['XDG_RUNTIME_DIR'] ?? tmpdir(), 'securekey-sandbox'),
    },
    'host-data': { type: 'string' },
    persist: { type: 'boolean', default: false },
    'vault-port': { type: 'string' },
    'maa-port': { type: 'string' },
    'entra-port': { type: 'string' },
    // The Managed HSM and Entra ID under Azure's names on 443 (127.0.0.2, 127.0.0.3), for clients that
    // hard-code them; --azure-names-port for another port (443 needs root or CAP_NET_BIND_SERVICE).
    'azure-names': { type: 'boolean', default: false },
    'azure-names-port': { type: 'string' },
  },
});

const num = (v: string | undefined) => (v ? Number(v) : undefined);
const sb = await startSandbox({
  dir: values.dir,
  ...(values['host-data'] ? { hostData: values['host-data'] } : {}),
  persist: values.persist,
  ports: { vault: num(values['vault-port']), maa: num(values['maa-port']), entra: num(values['entra-port']) },
  ...(values['azure-names'] ? { azureNames: { port: num(values['azure-names-port']) ?? 443 } } : {}),
});
// Projected tokens live an hour; keep the files fresh as kubelet would.
const refresh = setInterval(() => writeTokenFiles(sb.identity, values.dir), 30 * 60_000);

const out = (s: string) => process.stdout.write(s + '\n');
out('SecureKey sandbox — SIMULATORS, not Azure and not AMD hardware');
out(`  Managed HSM        ${sb.vault.url}`);
out(`  Azure Attestation  ${sb.maa.url}`);
out(`  Entra ID           ${sb.entra.url}`);
out(`  Identity issuer    ${sb.identity.issuer}  (tokens in ${values.dir}, refreshed every 30 min)`);
out(`  THIM / AMD KDS     ${sb.thim.url}`);
out(`  IMDS identity      ${sb.imds.url}  (the agent's managed identity)`);
out(`  SEV-SNP PSP        ${sb.psp.url}  (pods registered in process)`);
out(`  CA (trust this)    ${sb.caFile}`);
out(`  guest HOST_DATA    ${sb.signer.hostData.toString('hex')}`);
for (const who of ['operator', 'agent'] as const) {
  out(`\n# environment for the ${who} (${who === 'operator' ? 'crypto officer' : 'release only'}):`);
  for (const [k, v] of Object.entries(sb.env(who))) out(`export ${k}=${v}`);
}
out('\n# environment for the agent with its managed identity (ACI, VN2) instead of workload identity:');
for (const [k, v] of Object.entries(sb.managedIdentityEnv())) out(`export ${k}=${v}`);
if (values['azure-names']) {
  out(`\n# Azure's names (audience ${AZURE_NAMES.vaultResource}): resolve them here, and trust the CA`);
  out(`#   /etc/hosts:  ${AZURE_NAMES.vaultAddress} ${AZURE_NAMES.vault}`);
  out(`#                ${AZURE_NAMES.entraAddress} ${AZURE_NAMES.entra}`);
  out(`#                127.0.0.1 ${new URL(sb.maa.url).hostname}`);
  out(
    `#   (curl: --resolve ${AZURE_NAMES.vault}:${new URL(sb.vault.url).port || 443}:${AZURE_NAMES.vaultAddress})`,
  );
  out(`export SSL_CERT_FILE=${sb.caFile}   # Go and OpenSSL clients; Node: NODE_EXTRA_CA_CERTS`);
  out('# Only while the sandbox runs: these names then point at simulators, not at Azure.');
}
out('\nNames under *.localhost resolve to 127.0.0.1 in SecureKey clients (RFC 6761). Ctrl-C stops.');

const stop = async () => {
  clearInterval(refresh);
  await sb.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
