/**
 * The UVM security context (Confidential ACI, and the SKR sidecar's convention): a directory the
 * platform mounts into the container whose `host-amd-cert-base64` is base64 of THIM's JSON for the host
 * (`{vcekCert, tcbm, certificateChain}`). When present it is a VCEK chain source that needs no network;
 * like any source it is used only if it certifies the report's TCB and chip.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import { parseCertification, type ThimCertification } from './thim.ts';

export const HOST_AMD_CERT_FILE = 'host-amd-cert-base64';

/** The host's certification from `dir`, or undefined when the directory has none (AKS Kata pods). */
export async function readUvmHostCertification(dir: string): Promise<ThimCertification | undefined> {
  const file = path.join(dir, HOST_AMD_CERT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError(
      'certificates-unavailable',
      `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        step: 'certificates',
        endpoint: file,
      },
    );
  }
  const json = Buffer.from(text.trim(), 'base64').toString('utf8');
  try {
    return parseCertification(json, file);
  } catch (err) {
    throw new AgentError('evidence-malformed', `${file} is not base64 of a THIM certification`, {
      step: 'certificates',
      endpoint: file,
      cause: err,
    });
  }
}
