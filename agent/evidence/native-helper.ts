/**
 * Runs the native helper `sev-report` (agent/native/sev-report.c; Node cannot issue ioctls) for one
 * report from `/dev/sev-guest` or ACI's `/dev/sev`: REPORT_DATA on its stdin, the framed report on
 * its stdout (sev-report-frame.ts), and on failure one stderr line plus an exit code per class,
 * which becomes an AgentError of step `evidence` with the device as endpoint.
 *
 * The helper gets no environment (it needs none; the agent's holds tokens' paths and URLs) unless a
 * test passes one, and is killed at the deadline.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { DEFAULT_SEV_HELPER } from '../config.ts';
import { AgentError } from '../errors.ts';
import type { Evidence } from './attester.ts';
import { parseSevReportFrame, SevReportFrameError } from './sev-report-frame.ts';

export const BUILD_HELPER = 'agent/native/build.sh';

/** `sev-guest`: Linux 6.x /dev/sev-guest; `sev`: Azure ACI 5.15 /dev/sev. */
export type SevDeviceKind = 'sev-guest' | 'sev';

/** The helper's exit codes (sev-report.c). */
export const HELPER_EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  noDevice: 3,
  permission: 4,
  device: 5,
  busy: 6,
  malformed: 7,
} as const;

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 64 * 1024;
const REPORT_DATA_SIZE = 64;

export interface SevHelperOptions {
  kind: SevDeviceKind;
  device: string;
  helper: string;
  /** The helper's environment; empty unless a test needs one (LD_PRELOAD). */
  env?: Record<string, string>;
  /** Epoch ms after which the helper is killed; 60 s from the call otherwise. */
  deadline?: number;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: string;
  timedOut: boolean;
  overflow: boolean;
  stdout: Buffer;
  stderr: Buffer;
}

/** One report through the helper, as Evidence. */
export async function sevReportViaHelper(o: SevHelperOptions, reportData: Buffer): Promise<Evidence> {
  if (reportData.length !== REPORT_DATA_SIZE) {
    throw new AgentError('evidence-failed', `REPORT_DATA is ${reportData.length} bytes, expected 64`, {
      step: 'evidence',
      endpoint: o.device,
    });
  }
  const outcome = await run(o, reportData);
  if (outcome.spawnError !== undefined) throw await helperUnavailable(o, outcome.spawnError);
  if (outcome.code !== HELPER_EXIT.ok) throw failure(o, outcome);
  try {
    const frame = parseSevReportFrame(outcome.stdout);
    return {
      report: frame.report,
      ...(frame.certTable === undefined ? {} : { certTable: frame.certTable }),
      source: `${o.device} ${frame.ioctl} (helper ${o.helper})`,
    };
  } catch (err) {
    if (!(err instanceof SevReportFrameError)) throw err;
    throw new AgentError('evidence-malformed', `the helper's output is not a report frame: ${err.message}`, {
      step: 'evidence',
      endpoint: o.device,
      hint: `is ${o.helper} the sev-report helper built from this agent's ${BUILD_HELPER}?`,
    });
  }
}

function run(o: SevHelperOptions, reportData: Buffer): Promise<Outcome> {
  const timeout = o.deadline === undefined ? DEFAULT_TIMEOUT_MS : Math.max(1_000, o.deadline - Date.now());
  return new Promise((resolve) => {
    const child = execFile(
      o.helper,
      [o.kind, o.device],
      { encoding: 'buffer', env: o.env ?? {}, timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals }) | null;
        const spawnFailed = e !== null && typeof e.code === 'string' && e.syscall?.startsWith('spawn');
        const overflow = e?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          ...(spawnFailed ? { spawnError: e.code! } : {}),
          timedOut: !overflow && e?.killed === true && e.signal === 'SIGKILL',
          overflow,
          stdout,
          stderr,
        });
      },
    );
    // The helper may exit before reading (e.g. no device): its closed stdin is not our error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(reportData);
  });
}

/** The helper's one stderr line, without its prefix, printable and bounded. */
function helperLine(stderr: Buffer): string {
  const first = stderr.toString('utf8').split('\n', 1)[0] ?? '';
  return first
    .replace(/^sev-report: /, '')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 300);
}

function noDeviceHint(kind: SevDeviceKind): string {
  const other =
    kind === 'sev-guest'
      ? "on ACI's 5.15 kernels the device is /dev/sev (SECUREKEY_EVIDENCE=sev)"
      : 'on Linux 6.x guests the device is /dev/sev-guest (SECUREKEY_EVIDENCE=sev-guest)';
  return `is this a confidential VM / pod sandbox? use configfs-tsm on newer kernels (SECUREKEY_EVIDENCE=tsm, Linux ≥ 6.7); ${other}`;
}

const ioctlOf = (kind: SevDeviceKind): string =>
  kind === 'sev' ? 'SEV_SNP_GUEST_MSG_REPORT' : 'SNP_GET_EXT_REPORT';

/** The helper could not be started: say whether the device is there at all, and how to get the helper. */
async function helperUnavailable(o: SevHelperOptions, code: string): Promise<AgentError> {
  const present = await access(o.device).then(
    () => true,
    () => false,
  );
  if (!present) return noDevice(o);
  return new AgentError(
    'device-unavailable',
    `${o.device} is present, but its ${ioctlOf(o.kind)} ioctl needs a native helper, which is not available here (${o.helper}: ${code})`,
    {
      step: 'evidence',
      endpoint: o.device,
      hint: `build it with ${BUILD_HELPER} ${o.helper} (the agent image ships it at ${DEFAULT_SEV_HELPER}; SECUREKEY_SEV_HELPER names another path), or use configfs-tsm instead (SECUREKEY_EVIDENCE=tsm, Linux ≥ 6.7)`,
    },
  );
}

function noDevice(o: SevHelperOptions): AgentError {
  return new AgentError(
    'device-unavailable',
    `${o.device} does not exist: this is not an SEV-SNP guest, or the device is not mounted into the container`,
    { step: 'evidence', endpoint: o.device, hint: noDeviceHint(o.kind) },
  );
}

/** Likely causes by the errno the helper names (drivers/virt/coco/sev-guest). */
const DEVICE_CAUSES: [RegExp, string][] = [
  [/\bENOTTY\b/, "the guest kernel disabled its VMPCK after a failed request; the pod's VM must restart"],
  [/\bEIO\b/, 'the firmware or hypervisor failed the request'],
  [/\bEINVAL\b/, 'the kernel refused the request structure (driver and helper disagree on the ABI?)'],
  [/\bETIMEDOUT\b/, 'the host kept throttling report requests'],
  [/MSG_REPORT_RSP status 0x16\b/, 'INVALID_PARAM: VMPL or reserved fields of MSG_REPORT_REQ'],
];

function failure(o: SevHelperOptions, out: Outcome): AgentError {
  const said = helperLine(out.stderr);
  const base = { step: 'evidence' as const, endpoint: o.device };
  if (out.timedOut) {
    return new AgentError('evidence-failed', `the sev-report helper did not finish before the deadline`, {
      ...base,
      hint: 'the host may be throttling report requests',
    });
  }
  if (out.overflow) {
    return new AgentError('evidence-malformed', 'the sev-report helper wrote more than 64 KiB', base);
  }
  if (out.code === null) {
    return new AgentError(
      'evidence-failed',
      `the sev-report helper was killed by ${out.signal ?? 'a signal'}`,
      base,
    );
  }
  switch (out.code) {
    case HELPER_EXIT.noDevice:
      return noDevice(o);
    case HELPER_EXIT.permission:
      return new AgentError('device-unavailable', `the agent may not open ${o.device} (${said})`, {
        ...base,
        hint: "the device node must be readable and writable by the agent's user (uid 65532): check the pod's device mount and securityContext, or use SECUREKEY_EVIDENCE=tsm",
      });
    case HELPER_EXIT.device: {
      const cause = DEVICE_CAUSES.find(([re]) => re.test(said))?.[1];
      return new AgentError('evidence-failed', said, { ...base, ...(cause ? { hint: cause } : {}) });
    }
    case HELPER_EXIT.busy:
      return new AgentError('evidence-failed', said, {
        ...base,
        hint: 'the host kept throttling report requests',
      });
    case HELPER_EXIT.malformed:
      return new AgentError('evidence-malformed', said, base);
    case HELPER_EXIT.usage:
      return new AgentError('evidence-failed', `the sev-report helper refused its invocation: ${said}`, {
        ...base,
        hint: `the helper and the agent come from different builds: rebuild it with ${BUILD_HELPER}`,
      });
    default:
      return new AgentError(
        'evidence-failed',
        `the sev-report helper failed (exit ${out.code})${said ? `: ${said}` : ''}`,
        base,
      );
  }
}
