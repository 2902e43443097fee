/**
 * AMD's Key Distribution Service as a VCEK chain source, for platforms without THIM (outside Azure):
 * `GET {kds}/vcek/v1/{product}/{hwid}?blSPL=…&teeSPL=…&snpSPL=…&ucodeSPL=…` (Turin: also fmcSPL, and the
 * hwid is the first 8 bytes of CHIP_ID) answers the VCEK in DER; `GET {kds}/vcek/v1/{product}/cert_chain`
 * the ASK and ARK in PEM. The SPLs are the report's REPORTED_TCB, decomposed per product.
 */
import { decomposeTcb, type AttestationReport, type SnpProduct } from '../../core/snp/index.ts';
import { toPem } from '../../core/x509/index.ts';
import { AgentError } from '../errors.ts';
import { httpRequest } from '../../edge/http/client.ts';

export interface KdsOptions {
  url: string;
  caPem?: string;
}

/** VCEK, ASK, ARK (PEM) for the report's chip and reported TCB. */
export async function kdsChainFor(
  report: AttestationReport,
  product: SnpProduct,
  o: KdsOptions,
): Promise<string> {
  const tcb = decomposeTcb(report.reportedTcb, product);
  const turin = product === 'Turin';
  const hwid = (turin ? report.chipId.subarray(0, 8) : report.chipId).toString('hex');
  const q = new URLSearchParams();
  if (turin && tcb.fmcSpl !== undefined) q.set('fmcSPL', String(tcb.fmcSpl));
  q.set('blSPL', String(tcb.blSpl));
  q.set('teeSPL', String(tcb.teeSpl));
  q.set('snpSPL', String(tcb.snpSpl));
  q.set('ucodeSPL', String(tcb.ucodeSpl));
  const base = o.url.replace(/\/+$/, '');
  const ca = o.caPem === undefined ? {} : { caPem: o.caPem };
  const get = async (url: string) => {
    let res;
    try {
      res = await httpRequest(url, ca);
    } catch (err) {
      throw new AgentError('certificates-unavailable', `AMD KDS did not answer: ${(err as Error).message}`, {
        step: 'certificates',
        endpoint: url,
        cause: err,
      });
    }
    if (res.status !== 200) {
      throw new AgentError(
        'certificates-unavailable',
        `AMD KDS answered ${res.status}: ${res.text.slice(0, 200)}`,
        {
          step: 'certificates',
          endpoint: url,
          hint: res.status === 429 ? 'KDS rate-limits; cache the chain or use THIM' : undefined,
        },
      );
    }
    return res;
  };
  const vcek = await get(`${base}/vcek/v1/${product}/${hwid}?${q.toString()}`);
  const chain = await get(`${base}/vcek/v1/${product}/cert_chain`);
  return toPem(vcek.body) + chain.text;
}
