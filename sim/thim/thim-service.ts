/**
 * What the certificate endpoints answer, independent of HTTP: Azure's THIM (IMDS
 * `/metadata/THIM/amd/certification`) and AMD's KDS (`/vcek/v1/...`), both backed by one simulated
 * platform. The TCB-mismatch scenario makes THIM hand out the VCEK of an older TCB than the one
 * reports carry, as after a firmware update before THIM's cache refreshes; a client must compare
 * `tcbm` with REPORTED_TCB and ask again with `?tcbVersion=&platformId=`.
 */
import type { SnpProduct } from '../../core/snp/index.ts';
import { toTcb, type FakeAmd, type TcbInput, type ThimCertification } from '../amd/index.ts';

export type ThimAnswer =
  | { readonly status: 200; readonly body: ThimCertification }
  | { readonly status: 400 | 404; readonly body: { readonly error: string } };

export type KdsAnswer =
  | { readonly status: 200; readonly contentType: string; readonly body: Buffer | string }
  | { readonly status: 400 | 404; readonly contentType: string; readonly body: string };

export interface ThimServiceOptions {
  readonly amd: FakeAmd;
  /** Serve the VCEK of this TCB at the plain THIM path (the TCB-mismatch scenario). Default: the platform's. */
  readonly servedTcb?: TcbInput;
}

const HEX16 = /^[0-9a-fA-F]{1,16}$/;

export class ThimService {
  readonly amd: FakeAmd;
  /** The TCB whose VCEK the plain THIM path serves; change it at run time to stage a mismatch. */
  servedTcb: bigint;
  readonly counters = { thim: 0, thimExplicit: 0, kdsVcek: 0, kdsChain: 0, kdsCrl: 0 };

  constructor(options: ThimServiceOptions) {
    this.amd = options.amd;
    this.servedTcb = toTcb(options.servedTcb ?? options.amd.tcb, options.amd.product);
  }

  /** THIM's answer. `query` is the request's query string parameters. */
  certification(query: Readonly<Record<string, string | undefined>>): ThimAnswer {
    const { tcbVersion, platformId, productName } = query;
    if (tcbVersion === undefined && platformId === undefined && productName === undefined) {
      this.counters.thim++;
      return { status: 200, body: this.amd.thimCertification(this.servedTcb) };
    }
    this.counters.thimExplicit++;
    if (tcbVersion === undefined || !HEX16.test(tcbVersion)) {
      return { status: 400, body: { error: 'Bad request. tcbVersion must be the TCB as 16 hex digits' } };
    }
    if (platformId !== undefined && platformId.toLowerCase() !== this.amd.chipId.toString('hex')) {
      return { status: 404, body: { error: 'Not found. No certificate for this platformId' } };
    }
    if (productName !== undefined && productName.split('-')[0] !== this.amd.product) {
      return { status: 404, body: { error: `Not found. No certificate for product ${productName}` } };
    }
    return { status: 200, body: this.amd.thimCertification(BigInt(`0x${tcbVersion}`)) };
  }

  #product(name: string): SnpProduct | undefined {
    return name === this.amd.product ? this.amd.product : undefined;
  }

  /** `GET /vcek/v1/{product}/cert_chain`: the ASK then the ARK, PEM. */
  certChain(product: string): KdsAnswer {
    if (!this.#product(product)) return notFound(`unknown product ${product}`);
    this.counters.kdsChain++;
    return { status: 200, contentType: 'application/x-pem-file', body: this.amd.chainPem() };
  }

  /** `GET /vcek/v1/{product}/crl`: the ARK-signed CRL, DER. */
  crl(product: string): KdsAnswer {
    if (!this.#product(product)) return notFound(`unknown product ${product}`);
    this.counters.kdsCrl++;
    return { status: 200, contentType: 'application/pkix-crl', body: this.amd.crl() };
  }

  /**
   * `GET /vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=` (Turin adds `fmcSPL` and its
   * hwid is the first 8 bytes of CHIP_ID): the VCEK, DER, with hwID as an OCTET STRING.
   */
  vcek(product: string, hwid: string, query: Readonly<Record<string, string | undefined>>): KdsAnswer {
    const p = this.#product(product);
    if (!p) return notFound(`unknown product ${product}`);
    const expected = (p === 'Turin' ? this.amd.chipId.subarray(0, 8) : this.amd.chipId).toString('hex');
    if (hwid.toLowerCase() !== expected) return notFound('unknown hardware id');
    const names =
      p === 'Turin'
        ? ['fmcSPL', 'blSPL', 'teeSPL', 'snpSPL', 'ucodeSPL']
        : ['blSPL', 'teeSPL', 'snpSPL', 'ucodeSPL'];
    const spl: Record<string, number> = {};
    for (const name of names) {
      const text = query[name];
      const value = text !== undefined && /^\d{1,3}$/.test(text) ? Number(text) : NaN;
      if (!(value >= 0 && value <= 255)) {
        return { status: 400, contentType: 'text/plain', body: `Bad Request: ${name} must be 0-255` };
      }
      spl[name] = value;
    }
    const tcb = toTcb(
      {
        fmcSpl: p === 'Turin' ? spl['fmcSPL'] : undefined,
        blSpl: spl['blSPL']!,
        teeSpl: spl['teeSPL']!,
        snpSpl: spl['snpSPL']!,
        ucodeSpl: spl['ucodeSPL']!,
      },
      p,
    );
    this.counters.kdsVcek++;
    return {
      status: 200,
      contentType: 'application/pkix-cert',
      body: this.amd.vcekFor(tcb).cert.raw,
    };
  }
}

function notFound(what: string): KdsAnswer {
  return { status: 404, contentType: 'text/plain', body: `Not Found: ${what}` };
}
