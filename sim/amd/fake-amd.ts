/**
 * A simulated AMD SEV-SNP platform: one chip of one product at one TCB, with its key hierarchy
 * ARK → ASK → VCEK built with real crypto by the one fake AMD (sim/amd/hierarchy.ts). It hands
 * out the forms the real services do: the VCEK and `cert_chain` PEMs, the THIM document, the GHCB
 * certificate table, and the CRL. A VCEK exists per TCB, derived from the chip secret.
 */
import crypto, { type KeyObject, type X509Certificate } from 'node:crypto';
import {
  buildCertTable,
  CERT_TABLE_GUIDS,
  composeTcb,
  decomposeTcb,
  isSnpProduct,
  type KdsExtensions,
  type SnpProduct,
  type TcbPartsInput,
  type VcekChain,
} from '../../core/snp/index.ts';
import {
  addYears,
  buildArk,
  buildAsk,
  buildAsvk,
  buildVcek,
  buildVlek,
  DEFAULT_PRODUCT_NAMES,
  fixtureAsvkKey,
  fixtureRootKeys,
  VCEK_VALIDITY_YEARS,
  type AmdRootKeys,
  type CertOverride,
} from './hierarchy.ts';
import { toPem } from '../../core/x509/index.ts';
import { buildCrl } from './crl.ts';
import { AmdSimError } from './errors.ts';
import { deriveChipId, deriveVcekKey, deriveVlekKey, fixtureChipSecret } from './keys.ts';

/** A TCB_VERSION as its raw u64 or as components in the product's layout. */
export type TcbInput = bigint | TcbPartsInput;

/** Plausible current TCBs; Milan's is the real machine's in testdata (tcbm 7308000000000003). */
export const DEFAULT_TCB: Readonly<Record<SnpProduct, TcbPartsInput>> = {
  Milan: { blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 },
  Genoa: { blSpl: 9, teeSpl: 0, snpSpl: 23, ucodeSpl: 72 },
  Turin: { fmcSpl: 1, blSpl: 1, teeSpl: 1, snpSpl: 3, ucodeSpl: 79 },
};

export interface FakeAmdOptions {
  /** Default Milan. */
  readonly product?: SnpProduct;
  /** ARK and ASK keys; default the product's fixture keys (sim/amd/fixtures). */
  readonly keys?: AmdRootKeys;
  /** The chip's secret, from which CHIP_ID and every VCEK key derive; default the product's fixture chip. */
  readonly chipSecret?: Uint8Array;
  /** Overrides the derived CHIP_ID (64 bytes; on Turin only the first 8 may be non-zero). */
  readonly chipId?: Uint8Array;
  /** The platform's TCB: what reports carry as REPORTED_TCB and the VCEK certifies. */
  readonly tcb?: TcbInput;
  /** The VCEK's `productName` extension; default e.g. `Milan-B0`. */
  readonly productName?: string;
  /** How VCEKs carry hwID: `raw` as AMD KDS and Azure THIM serve them (default), or a tagged `octet-string`. */
  readonly hwIdEncoding?: 'octet-string' | 'raw';
  /** When KDS issued the VCEKs (valid 7 years from then); default yesterday. */
  readonly vcekIssuedAt?: Date;
  /** Corrupt any field of a certificate, for negative tests. */
  readonly overrides?: {
    readonly ark?: CertOverride;
    readonly ask?: CertOverride;
    readonly vcek?: CertOverride;
    readonly asvk?: CertOverride;
    readonly vlek?: CertOverride;
  };
  /** The cloud provider a VLEK names (`csp_id`); default `SecureKey simulated CSP`. */
  readonly cspId?: string;
}

/** Which key signs reports, and so which chain vouches for them. */
export type EndorsementKey = 'vcek' | 'vlek';

/** A VCEK with its private key. */
export interface Vcek {
  readonly tcb: bigint;
  readonly cert: X509Certificate;
  readonly privateKey: KeyObject;
}

/** What Azure's IMDS answers at /metadata/THIM/amd/certification. */
export interface ThimCertification {
  readonly vcekCert: string;
  /** REPORTED_TCB as a u64 in 16 hex digits (its little-endian bytes are the report's). */
  readonly tcbm: string;
  /** The ASK then the ARK, PEM. */
  readonly certificateChain: string;
  /** Seconds, as a decimal string. */
  readonly cacheControl: string;
}

export function toTcb(value: TcbInput, product: SnpProduct): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn)
      throw new AmdSimError('bad-option', `TCB ${value} is not a u64`);
    return value;
  }
  return composeTcb(value, product);
}

/** A TCB_VERSION as THIM writes `tcbm`: the u64 in 16 hex digits. */
export function tcbHex(tcb: bigint): string {
  return tcb.toString(16).padStart(16, '0');
}

function yesterday(): Date {
  const day = 86_400_000;
  return new Date(Math.floor(Date.now() / day) * day - day);
}

export class FakeAmd {
  readonly product: SnpProduct;
  readonly productName: string;
  readonly chipId: Buffer;
  /** The platform's current TCB_VERSION. */
  readonly tcb: bigint;
  readonly ark: X509Certificate;
  readonly ask: X509Certificate;
  readonly #keys: AmdRootKeys;
  readonly #chipSecret: Buffer;
  readonly #options: FakeAmdOptions;
  readonly #vceks = new Map<string, Vcek>();
  readonly #vleks = new Map<bigint, Vcek>();
  #asvk: X509Certificate | undefined;
  readonly #vcekNotBefore: Date;

  constructor(options: FakeAmdOptions = {}) {
    const product = options.product ?? 'Milan';
    if (!isSnpProduct(product))
      throw new AmdSimError('bad-option', `unknown SNP product "${String(product)}"`);
    this.product = product;
    this.#options = options;
    this.#keys = options.keys ?? fixtureRootKeys(product);
    this.#chipSecret = Buffer.from(options.chipSecret ?? fixtureChipSecret(product));
    this.productName = options.productName ?? DEFAULT_PRODUCT_NAMES[product];
    this.chipId = options.chipId ? Buffer.from(options.chipId) : deriveChipId(this.#chipSecret, product);
    if (this.chipId.length !== 64) {
      throw new AmdSimError('bad-option', `CHIP_ID must be 64 bytes, got ${this.chipId.length}`);
    }
    if (product === 'Turin' && this.chipId.subarray(8).some((b) => b !== 0)) {
      throw new AmdSimError('bad-option', 'a Turin CHIP_ID has only its first 8 bytes set');
    }
    this.tcb = toTcb(options.tcb ?? DEFAULT_TCB[product], product);
    this.#vcekNotBefore = options.vcekIssuedAt ?? yesterday();
    this.ark = buildArk(product, this.#keys.ark, options.overrides?.ark);
    this.ask = buildAsk(
      product,
      this.#keys.ask,
      { cert: this.ark, privateKey: this.#keys.ark.privateKey },
      options.overrides?.ask,
    );
  }

  /** The VCEK of the platform's TCB. */
  get vcek(): X509Certificate {
    return this.vcekFor().cert;
  }

  /**
   * The KDS extensions a genuine VCEK for `tcb` carries. Turin's are those of the real Turin VCEK in
   * testdata: structVersion 1, fmcSPL, spl_5–spl_7 (its reserved TCB bytes 4–6) and no spl_4.
   */
  kdsExtensions(tcb: bigint = this.tcb): KdsExtensions {
    const parts = decomposeTcb(tcb, this.product);
    const common = {
      productName: this.productName,
      blSpl: parts.blSpl,
      teeSpl: parts.teeSpl,
      snpSpl: parts.snpSpl,
      ucodeSpl: parts.ucodeSpl,
    };
    if (this.product === 'Turin') {
      const [spl5, spl6, spl7] = parts.reserved;
      return {
        structVersion: 1,
        ...common,
        fmcSpl: parts.fmcSpl,
        spl5,
        spl6,
        spl7,
        hwId: this.chipId.subarray(0, 8),
      };
    }
    const [spl4, spl5, spl6, spl7] = parts.reserved;
    return { structVersion: 0, ...common, spl4, spl5, spl6, spl7, hwId: this.chipId };
  }

  /** The chip's VCEK for `tcb` (default: the platform's), built once per TCB and encoding. */
  vcekFor(tcbInput: TcbInput = this.tcb, hwIdEncoding?: 'octet-string' | 'raw'): Vcek {
    const tcb = toTcb(tcbInput, this.product);
    const override = this.#options.overrides?.vcek;
    const encoding = hwIdEncoding ?? this.#options.hwIdEncoding ?? override?.hwIdEncoding ?? 'raw';
    const cacheKey = `${tcbHex(tcb)}/${encoding}`;
    let vcek = this.#vceks.get(cacheKey);
    if (!vcek) {
      const privateKey = deriveVcekKey(this.#chipSecret, this.product, tcb);
      const cert = buildVcek(
        {
          extensions: this.kdsExtensions(tcb),
          publicKey: crypto.createPublicKey(privateKey),
          ask: { cert: this.ask, privateKey: this.#keys.ask.privateKey },
          notBefore: this.#vcekNotBefore,
          notAfter: addYears(this.#vcekNotBefore, VCEK_VALIDITY_YEARS),
        },
        { ...override, hwIdEncoding: encoding },
      );
      vcek = { tcb, cert, privateKey };
      this.#vceks.set(cacheKey, vcek);
    }
    return vcek;
  }

  /** The ASVK (`SEV-VLEK-<product>`), signed by the ARK; built on first use. */
  get asvk(): X509Certificate {
    this.#asvk ??= buildAsvk(
      this.product,
      fixtureAsvkKey(this.product),
      { cert: this.ark, privateKey: this.#keys.ark.privateKey },
      this.#options.overrides?.asvk,
    );
    return this.#asvk;
  }

  /**
   * The VLEK for `tcb`, as AMD's KDS issues it to a cloud provider: structVersion and SPLs as the
   * product's VCEK, productName without stepping, csp_id and no hwID.
   */
  vlekFor(tcbInput: TcbInput = this.tcb): Vcek {
    const tcb = toTcb(tcbInput, this.product);
    let vlek = this.#vleks.get(tcb);
    if (!vlek) {
      const { hwId: _chip, ...ext } = this.kdsExtensions(tcb);
      const privateKey = deriveVlekKey(this.#chipSecret, this.product, tcb);
      const cert = buildVlek(
        {
          extensions: {
            ...ext,
            productName: this.product,
            cspId: this.#options.cspId ?? 'SecureKey simulated CSP',
          },
          publicKey: crypto.createPublicKey(privateKey),
          ask: { cert: this.asvk, privateKey: fixtureAsvkKey(this.product).privateKey },
          notBefore: this.#vcekNotBefore,
          notAfter: addYears(this.#vcekNotBefore, VCEK_VALIDITY_YEARS),
        },
        this.#options.overrides?.vlek,
      );
      vlek = { tcb, cert, privateKey };
      this.#vleks.set(tcb, vlek);
    }
    return vlek;
  }

  /** VCEK, ASK, ARK (or VLEK, ASVK, ARK) as `verifyAttestation` takes them. */
  chain(tcb?: TcbInput, key: EndorsementKey = 'vcek'): VcekChain {
    return key === 'vlek'
      ? { vcek: this.vlekFor(tcb).cert, ask: this.asvk, ark: this.ark }
      : { vcek: this.vcekFor(tcb).cert, ask: this.ask, ark: this.ark };
  }

  /**
   * The ASK then the ARK in PEM, as KDS `cert_chain` and THIM `certificateChain`; for `vlek` the ASVK
   * then the ARK, as KDS `/vlek/v1/<product>/cert_chain`.
   */
  chainPem(key: EndorsementKey = 'vcek'): string {
    return toPem((key === 'vlek' ? this.asvk : this.ask).raw) + toPem(this.ark.raw);
  }

  /**
   * The GHCB certificate table the host hands to the guest: VCEK, ASK, ARK (DER); for `vlek` the VLEK,
   * the ASVK under the ASK GUID, and the ARK, as a host provisioned with a VLEK serves it.
   */
  certTable(tcb?: TcbInput, key: EndorsementKey = 'vcek'): Buffer {
    if (key === 'vlek') {
      return buildCertTable([
        { guid: CERT_TABLE_GUIDS.vlek, data: this.vlekFor(tcb).cert.raw },
        { guid: CERT_TABLE_GUIDS.ask, data: this.asvk.raw },
        { guid: CERT_TABLE_GUIDS.ark, data: this.ark.raw },
      ]);
    }
    return buildCertTable([
      { guid: CERT_TABLE_GUIDS.vcek, data: this.vcekFor(tcb).cert.raw },
      { guid: CERT_TABLE_GUIDS.ask, data: this.ask.raw },
      { guid: CERT_TABLE_GUIDS.ark, data: this.ark.raw },
    ]);
  }

  /** The THIM document for the VCEK of `tcb`; THIM serves hwID raw, as the real document shows. */
  thimCertification(tcb: TcbInput = this.tcb): ThimCertification {
    const vcek = this.vcekFor(tcb);
    return {
      vcekCert: toPem(vcek.cert.raw),
      tcbm: tcbHex(vcek.tcb),
      certificateChain: this.chainPem(),
      cacheControl: '86400',
    };
  }

  /** The ARK-signed CRL (DER), valid for a week from `now`; lists `revokedSerials`. */
  crl(now: Date = new Date(), revokedSerials: readonly bigint[] = []): Buffer {
    return buildCrl({
      ark: this.ark,
      arkKey: this.#keys.ark.privateKey,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
      revokedSerials,
    });
  }
}
