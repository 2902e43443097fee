/**
 * A simulated Azure vTPM: a real TPM 2.0 (swtpm, libtpms) provisioned as Azure provisions a
 * confidential VM's vTPM, behind a proxy that plays the paravisor (HCL).
 *
 * - Provisioning, with our own codec: an EK (TCG template L-1) at 0x81010001, an RSA-2048
 *   restricted signing AK at 0x81000003, the AK certificate at NV 0x01C101D0 issued by a simulated
 *   "Azure Virtual TPM" CA, and the HCL report at NV 0x01400001. Both NV indices are written with
 *   platform authorisation (PPWRITE), so the guest can read but not forge them.
 * - The paravisor: every command from a client is forwarded to swtpm; after a successful
 *   TPM2_NV_Write to 0x01400002 (user data), the proxy reads the user data back, builds new runtime
 *   claims, has the simulated AMD secure processor sign an SNP report whose REPORT_DATA[0:32] is
 *   SHA-256 of those claims, and writes the new HCL report to 0x01400001 — before the client gets
 *   its answer, so the next read sees it.
 *
 * - Measured boot: before any client connects, the "firmware" (firmware-log.ts) extends a Linux CVM's
 *   boot events into the sha256 PCRs with TPM2_PCR_Extend and keeps their crypto-agile TCG log, written
 *   where Linux has it (`binary_bios_measurements`) in the simulator's directory or at `tcgLogPath`.
 *
 * Clients speak the simulator framing (TPM_SEND_COMMAND, as edge/tpm and tpm2-tools' mssim/swtpm
 * TCTIs) or raw TPM commands; the proxy answers in kind. It serialises all clients on one swtpm
 * connection: there is no resource manager, so a client flushes the transient objects it creates.
 */
import { simulatedVtpmCa } from './vtpm-ca.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildHclReport, hclReportData } from '../../core/hcl/index.ts';
import {
  attestationKeyTemplate,
  commandCode,
  commandHandles,
  endorsementKeyTemplate,
  publicKeyOf,
  responseCode,
  TPM_CC,
  TPM_RH,
  TPMA_NV,
} from '../../core/tpm/index.ts';
import { issueLeaf, type CertificateAuthority } from '../../core/x509/authority.ts';
import { AZURE_VTPM, socketTransport, Tpm, type TpmTransport } from '../../edge/tpm/index.ts';
import { FakeAmd, ReportSigner } from '../amd/index.ts';
import { SWTPM_PACKAGES, VtpmSimError } from './errors.ts';
import { firmwareMeasurements, type FirmwareOptions } from './firmware-log.ts';
import { runtimeClaims, type VmConfiguration } from './runtime-claims.ts';

export const EK_HANDLE = 0x81010001;
/** The NV size of the HCL report index (Azure's is a fixed size too; the report is zero-padded). */
export const HCL_REPORT_NV_SIZE = 2048;

export interface SimulatedVtpmOptions {
  /** The simulated AMD platform whose VCEK signs the SNP reports. Default: a Milan `FakeAmd`. */
  readonly amd?: FakeAmd;
  /** The launched CVM (HOST_DATA, measurement …). Default: a `ReportSigner` on `amd`. */
  readonly signer?: ReportSigner;
  /** The AK certificate's issuer. Default: simulatedVtpmCa(), which the simulated Attestation trusts. */
  readonly akCa?: CertificateAuthority;
  readonly vmConfiguration?: Partial<VmConfiguration>;
  /** The measured boot: secure boot (default the VM configuration's `secure-boot`), a tampered log. */
  readonly firmware?: Partial<FirmwareOptions>;
  /** Where the TCG event log is written (mode 0644). Default `binary_bios_measurements` in the simulator's directory. */
  readonly tcgLogPath?: string;
  /** Where the proxy listens: TCP (default 127.0.0.1, a free port) or a Unix socket path. */
  readonly listen?: { readonly host?: string; readonly port?: number } | { readonly path: string };
  /** The swtpm executable. Default `swtpm` on PATH. */
  readonly swtpm?: string;
  readonly now?: () => Date;
}

export interface SimulatedVtpm {
  /** The proxy, as edge/tpm's openTransport takes it: `tcp:127.0.0.1:PORT` or `unix:PATH`. */
  readonly address: string;
  /** swtpm's own server socket (no paravisor), for tpm2-tools: `swtpm:path=…`. */
  readonly swtpmSocket: string;
  readonly amd: FakeAmd;
  readonly signer: ReportSigner;
  readonly akCa: CertificateAuthority;
  readonly akCertDer: Buffer;
  readonly akPublic: KeyObject;
  /** The TCG event log of the measured boot (crypto-agile, sha256), as Linux's securityfs serves it. */
  readonly tcgLog: Buffer;
  /** The file holding `tcgLog`, for an agent's `--tcg-log`. */
  readonly tcgLogPath: string;
  /** How many HCL reports the paravisor has generated (1 at launch). */
  readonly reportsGenerated: () => number;
  stop(): Promise<void>;
}

export async function launchSimulatedVtpm(options: SimulatedVtpmOptions = {}): Promise<SimulatedVtpm> {
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-vtpm-'));
  const serverPath = path.join(dir, 'server.sock');
  let child: ChildProcess | undefined;
  let upstream: TpmTransport | undefined;
  let proxy: net.Server | undefined;
  const clients = new Set<net.Socket>();
  const stop = async () => {
    for (const c of clients) c.destroy();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await upstream?.close().catch(() => undefined);
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    child = await startSwtpm(options.swtpm ?? 'swtpm', dir, serverPath);
    // Per command: swtpm serves one connection at a time, and tpm2-tools may want its turn.
    upstream = socketTransport({ path: serverPath }, { timeoutMs: 30_000, persistent: false });
    const tpm = new Tpm(upstream);
    const amd = options.amd ?? new FakeAmd();
    const signer = options.signer ?? new ReportSigner(amd);
    const now = options.now ?? (() => new Date());
    const vm: VmConfiguration = {
      'console-enabled': false,
      'secure-boot': true,
      'tpm-enabled': true,
      vmUniqueId: crypto.randomUUID().toUpperCase(),
      ...options.vmConfiguration,
    };

    // Firmware measures the boot before the guest (any client) runs.
    const measured = firmwareMeasurements({ secureBoot: vm['secure-boot'], ...options.firmware });
    for (const m of measured.extends) await tpm.pcrExtend(m.pcr, 'sha256', m.digest);
    const tcgLogPath = options.tcgLogPath ?? path.join(dir, 'binary_bios_measurements');
    writeFileSync(tcgLogPath, measured.log);
    chmodSync(tcgLogPath, 0o644);

    const ek = await tpm.createPrimary(TPM_RH.ENDORSEMENT, endorsementKeyTemplate());
    await tpm.evictControl(ek.handle, EK_HANDLE);
    await tpm.flushContext(ek.handle);
    const ak = await tpm.createPrimary(TPM_RH.ENDORSEMENT, attestationKeyTemplate());
    await tpm.evictControl(ak.handle, AZURE_VTPM.AK_HANDLE);
    await tpm.flushContext(ak.handle);
    const akPublic = publicKeyOf(ak.public);

    const notBefore = new Date(now().getTime() - 86_400_000);
    const notAfter = new Date(notBefore.getTime() + 365 * 86_400_000);
    const akCa = options.akCa ?? simulatedVtpmCa();
    const akCert = issueLeaf(akCa, {
      subject: [{ type: 'CN', value: `${vm.vmUniqueId.toLowerCase()}.vm.azure.net` }],
      notBefore,
      notAfter,
      key: akPublic,
      keyUsage: ['digitalSignature'],
    });
    await definePlatformIndex(tpm, AZURE_VTPM.AK_CERT_NV, akCert.certDer.length);
    await tpm.nvWrite(AZURE_VTPM.AK_CERT_NV, akCert.certDer, TPM_RH.PLATFORM);

    let reports = 0;
    const writeReport = async (userData: Uint8Array) => {
      const variableData = runtimeClaims(akPublic, vm, userData, now());
      const snpReport = signer.sign({ reportData: hclReportData(variableData) });
      const report = buildHclReport({ snpReport, variableData, padTo: HCL_REPORT_NV_SIZE });
      await tpm.nvWrite(AZURE_VTPM.HCL_REPORT_NV, report, TPM_RH.PLATFORM);
      reports++;
    };
    await definePlatformIndex(tpm, AZURE_VTPM.HCL_REPORT_NV, HCL_REPORT_NV_SIZE);
    await writeReport(Buffer.alloc(AZURE_VTPM.USER_DATA_SIZE));

    /** The paravisor's hook: runs after each forwarded command, before its answer goes back. */
    const afterCommand = async (command: Buffer, response: Buffer) => {
      if (commandCode(command) !== TPM_CC.NV_Write || responseCode(response) !== 0) return;
      if (commandHandles(command, 2)?.[1] !== AZURE_VTPM.USER_DATA_NV) return;
      await writeReport(await tpm.nvRead(AZURE_VTPM.USER_DATA_NV));
    };
    proxy = await serveProxy(options.listen, upstream, afterCommand, clients);
    const where = proxy.address();
    const address = typeof where === 'string' ? `unix:${where}` : `tcp:${where!.address}:${where!.port}`;
    return {
      address,
      swtpmSocket: `swtpm:path=${serverPath}`,
      amd: signer.amd,
      signer,
      akCa,
      akCertDer: akCert.certDer,
      akPublic,
      tcgLog: measured.log,
      tcgLogPath,
      reportsGenerated: () => reports,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An index only the platform (the paravisor) writes and the owner or anyone with its empty auth reads. */
async function definePlatformIndex(tpm: Tpm, nvIndex: number, dataSize: number): Promise<void> {
  await tpm.nvDefineSpace(
    {
      nvIndex,
      nameAlg: 'sha256',
      attributes:
        TPMA_NV.PPWRITE |
        TPMA_NV.PPREAD |
        TPMA_NV.OWNERREAD |
        TPMA_NV.AUTHREAD |
        TPMA_NV.NO_DA |
        TPMA_NV.PLATFORMCREATE,
      authPolicy: Buffer.alloc(0),
      dataSize,
    },
    TPM_RH.PLATFORM,
  );
}

/** Starts swtpm on a Unix server socket and waits until it answers. */
async function startSwtpm(executable: string, dir: string, serverPath: string): Promise<ChildProcess> {
  const args = [
    'socket',
    '--tpm2',
    '--tpmstate',
    `dir=${dir}`,
    '--server',
    `type=unixio,path=${serverPath}`,
    '--ctrl',
    `type=unixio,path=${serverPath}.ctrl`,
    '--flags',
    'not-need-init,startup-clear',
  ];
  const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new VtpmSimError(
              'swtpm-missing',
              `${executable} is not installed; on Debian/Ubuntu: ${SWTPM_PACKAGES}`,
            )
          : new VtpmSimError('swtpm-failed', `${executable} did not start: ${err.message}`, { cause: err }),
      ),
    );
    child.once('exit', (code) =>
      reject(new VtpmSimError('swtpm-failed', `${executable} exited with ${code}: ${stderr.trim()}`)),
    );
  });
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(serverPath, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new VtpmSimError(
      'swtpm-failed',
      `${executable} did not open ${serverPath} within 5 s: ${stderr.trim()}`,
    );
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  }
  failed.catch(() => undefined);
  return child;
}

const TPM_SEND_COMMAND = 8;
const TPM_SESSION_END = 20;
/** A command larger than this is not one (TPM_PT_MAX_COMMAND_SIZE is 4096). */
const MAX_FRAME = 8192;

/** Serves the paravisor proxy; each client frame is forwarded, then `after` runs, then the answer returns. */
async function serveProxy(
  listen: SimulatedVtpmOptions['listen'],
  upstream: TpmTransport,
  after: (command: Buffer, response: Buffer) => Promise<void>,
  clients: Set<net.Socket>,
): Promise<net.Server> {
  // One command at a time across all clients: the paravisor's own NV writes must not interleave.
  let tail: Promise<unknown> = Promise.resolve();
  const forward = (command: Buffer): Promise<Buffer> => {
    const run = tail.then(async () => {
      const response = await upstream.send(command);
      await after(command, response);
      return response;
    });
    tail = run.catch(() => undefined);
    return run;
  };
  const server = net.createServer((socket) => {
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let busy = false;
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const frame = nextFrame(pending);
          if (frame === 'incomplete') return;
          if (frame === 'invalid') return void socket.destroy();
          pending = pending.subarray(frame.consumed);
          if (frame.kind === 'end') return void socket.end();
          const response = await forward(frame.command).catch(() => failureResponse());
          if (frame.kind === 'framed') {
            const head = Buffer.alloc(4);
            head.writeUInt32BE(response.length);
            socket.write(Buffer.concat([head, response, Buffer.alloc(4)]));
          } else socket.write(response);
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length > MAX_FRAME * 2) return void socket.destroy();
      void pump().then(() => (nextFrame(pending) === 'incomplete' ? undefined : pump()));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen && 'path' in listen) server.listen(listen.path, resolve);
    else server.listen(listen?.port ?? 0, listen?.host ?? '127.0.0.1', resolve);
  });
  return server;
}

type Frame =
  { kind: 'framed' | 'raw'; command: Buffer; consumed: number } | { kind: 'end'; consumed: number };

/** The next client frame: TPM_SEND_COMMAND framing, TPM_SESSION_END, or a raw TPM command. */
function nextFrame(b: Buffer): Frame | 'incomplete' | 'invalid' {
  if (b.length < 4) return 'incomplete';
  const first = b.readUInt32BE(0);
  if (first === TPM_SESSION_END) return { kind: 'end', consumed: 4 };
  if (first === TPM_SEND_COMMAND) {
    if (b.length < 9) return 'incomplete';
    const size = b.readUInt32BE(5);
    if (size < 10 || size > MAX_FRAME) return 'invalid';
    if (b.length < 9 + size) return 'incomplete';
    return { kind: 'framed', command: Buffer.from(b.subarray(9, 9 + size)), consumed: 9 + size };
  }
  const tag = b.readUInt16BE(0);
  if (tag !== 0x8001 && tag !== 0x8002) return 'invalid';
  if (b.length < 6) return 'incomplete';
  const size = b.readUInt32BE(2);
  if (size < 10 || size > MAX_FRAME) return 'invalid';
  if (b.length < size) return 'incomplete';
  return { kind: 'raw', command: Buffer.from(b.subarray(0, size)), consumed: size };
}

/** A TPM_RC_FAILURE response for a command the proxy could not complete (swtpm gone, paravisor failed). */
function failureResponse(): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt16BE(0x8001, 0);
  b.writeUInt32BE(10, 2);
  b.writeUInt32BE(0x101, 6);
  return b;
}
