/**
 * The UVM security context (Confidential ACI, and the SKR sidecar's convention): a directory the
 * platform mounts into the container whose `host-amd-cert-base64` is base64 of THIM's JSON for the host
 * (`{vcekCert, tcbm, certificateChain}`). When present it is a VCEK chain source that needs no network;
 * like any source it is used only if it certifies the report's TCB and chip. Its `reference-info-base64`
 * is the UVM endorsement sent to Azure Attestation (readUvmReferenceInfo below).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeReferenceInfoFile, parseReferenceInfo, REFERENCE_INFO_FILE } from '../../core/uvm/index.ts';
import { AgentError } from '../errors.ts';
import type { UvmReferenceInfo } from './attester.ts';
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

/** Where AKS confidential containers (Kata) put the host's files; pods mount `reference-info-base64` from here. */
export const KATA_SHARE_DIR = '/opt/confidential-containers/share/kata-containers';
/** Confidential ACI (and virtual nodes) mount the context at `/security-context-<random>`. */
const ACI_CONTEXT_PREFIX = 'security-context-';

export interface ReferenceInfoSearch {
  /** UVM_SECURITY_CONTEXT_DIR: when set, the only place looked at (as the SKR sidecar does). */
  dir?: string;
  /** Scanned for `security-context-*` directories; default `/`. */
  root?: string;
  /** Default KATA_SHARE_DIR. */
  kataDir?: string;
}

export interface ReferenceInfoFound {
  found: UvmReferenceInfo | undefined;
  /** Every file looked for, for the error when none was found. */
  searched: string[];
}

/**
 * The UVM reference info where the platform puts it: the configured security context directory; else a
 * `/security-context-*` directory (Confidential ACI); else the Kata share directory (AKS, mounted into
 * the pod from the host). A file that exists but is not base64 of a COSE_Sign1 of reference info is an
 * error here, not a silent omission that would surface as the vault's 403.
 */
export async function readUvmReferenceInfo(o: ReferenceInfoSearch = {}): Promise<ReferenceInfoFound> {
  const dirs =
    o.dir !== undefined ? [o.dir] : [...(await aciContextDirs(o.root ?? '/')), o.kataDir ?? KATA_SHARE_DIR];
  const searched: string[] = [];
  for (const dir of dirs) {
    const file = path.join(dir, REFERENCE_INFO_FILE);
    searched.push(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new AgentError('evidence-malformed', `${file} cannot be read (${code ?? 'error'})`, {
        step: 'evidence',
        endpoint: file,
      });
    }
    if (text.trim() === '') continue; // hcsshim leaves it empty when the host has none
    return { found: referenceInfoFrom(text, file), searched };
  }
  return { found: undefined, searched };
}

/** Checks that `text` (base64, as the file holds it) is UVM reference info; the bytes for the request. */
export function referenceInfoFrom(text: string, source: string): UvmReferenceInfo {
  try {
    const cose = decodeReferenceInfoFile(text);
    parseReferenceInfo(cose);
    return { cose, source };
  } catch (err) {
    throw new AgentError(
      'evidence-malformed',
      `${source} is not UVM reference info: ${(err as Error).message}`,
      {
        step: 'evidence',
        endpoint: source,
        cause: err,
      },
    );
  }
}

async function aciContextDirs(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && e.name.startsWith(ACI_CONTEXT_PREFIX))
      .map((e) => path.join(root, e.name))
      .sort();
  } catch {
    return [];
  }
}
