/**
 * core/tpm: the commands' bytes derived by hand from TPM 2.0 Part 3, and the responses of a real
 * TPM (swtpm/libtpms, testdata/swtpm/exchanges.json) parsed and checked with Node's crypto.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectKind } from '../../test/support/snp.ts';
import { testdata } from '../../test/support/paths.ts';
import {
  decodeCertify,
  decodeEmpty,
  decodeCreatePrimary,
  decodeNvRead,
  decodePcrRead,
  decodeQuote,
  decodeReadPublic,
  decodeRsaDecrypt,
  decodeTpmProperties,
  decodeNvReadPublic,
  encodeCertify,
  encodeCreatePrimary,
  encodeFlushContext,
  encodeGetCapability,
  encodeNvRead,
  encodeNvReadPublic,
  encodeNvWrite,
  encodePcrExtend,
  encodePcrRead,
  encodeQuote,
  encodeRsaDecrypt,
  ephemeralKeyTemplate,
  nvChunks,
  objectName,
  parseAttest,
  pcrDigest,
  policyPcrDigest,
  publicKeyOf,
  responseCodeName,
  TPM_PT,
  TPM_RH,
  TpmError,
  TpmReader,
  LIMIT,
  verifyAttestSignature,
  writePublic,
} from './index.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const vectors = JSON.parse(readFileSync(testdata('swtpm/exchanges.json'), 'utf8')) as {
  akPublicSpki: string;
  exchanges: Array<{ step: string; command: string; response: string }>;
};
const exchanges = (step: string) => vectors.exchanges.filter((e) => e.step === step);
const response = (step: string, i = 0) => hex(exchanges(step)[i]!.response);
const akKey = crypto.createPublicKey({
  key: Buffer.from(vectors.akPublicSpki, 'base64'),
  format: 'der',
  type: 'spki',
});

describe('command bytes (hand-derived from TPM 2.0 Part 3)', () => {
  it('TPM2_NV_ReadPublic: no sessions, the index in the handle area', () => {
    expect(encodeNvReadPublic(0x01400001)).toEqual(hex('8001 0000000e 00000169 01400001'));
  });

  it('TPM2_GetCapability(TPM_PROPERTIES, TPM_PT_NV_BUFFER_MAX, 1)', () => {
    expect(TPM_PT.NV_BUFFER_MAX).toBe(0x12c);
    expect(encodeGetCapability(6, TPM_PT.NV_BUFFER_MAX, 1)).toEqual(
      hex('8001 00000016 0000017a 00000006 0000012c 00000001'),
    );
  });

  it('TPM2_NV_Read: owner and index handles, one password session, size and offset', () => {
    expect(encodeNvRead(TPM_RH.OWNER, 0x01400001, 1024, 2048)).toEqual(
      hex('8002 00000023 0000014e 40000001 01400001 00000009 40000009 0000 01 0000 0400 0800'),
    );
  });

  it('TPM2_NV_Write: the data as a TPM2B, then the offset', () => {
    expect(encodeNvWrite(TPM_RH.OWNER, 0x01400002, hex('aabbcc'), 0)).toEqual(
      hex('8002 00000026 00000137 40000001 01400002 00000009 40000009 0000 01 0000 0003 aabbcc 0000'),
    );
  });

  it('TPM2_Quote: nonce as qualifying data, scheme NULL, sha256 PCRs 0–7', () => {
    expect(
      encodeQuote(0x81000003, hex('01020304'), [{ hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]),
    ).toEqual(
      hex(
        '8002 0000002d 00000158 81000003 00000009 40000009 0000 01 0000 0004 01020304 0010 00000001 000b 03 ff0000',
      ),
    );
  });

  it('TPM2_Certify: object then signer, two password sessions', () => {
    expect(encodeCertify(0x80000000, 0x81000003)).toEqual(
      hex(
        '8002 0000002c 00000148 80000000 81000003 00000012 40000009 0000 01 0000 40000009 0000 01 0000 0000 0010',
      ),
    );
  });

  it('TPM2_PCR_Read: selection of PCRs 8 and 23', () => {
    expect(encodePcrRead([{ hash: 'sha256', pcrs: [8, 23] }])).toEqual(
      hex('8001 00000014 0000017e 00000001 000b 03 000180'),
    );
  });

  it('TPM2_PCR_Extend: the PCR as the handle, one password session, one sha256 digest', () => {
    const digest = hex('00112233445566778899aabbccddeeff'.repeat(2));
    // tpm2_pcrextend 4:sha256=… (tpm2-tools 5.4 over swtpm) sent these bytes but for the session
    // attributes, 00 there: continueSession is meaningless for a password session.
    expect(encodePcrExtend(4, 'sha256', digest)).toEqual(
      Buffer.concat([
        hex('8002 00000041 00000182 00000004 00000009 40000009 0000 01 0000 00000001 000b'),
        digest,
      ]),
    );
    // swtpm's answer to it: success, no parameters, the password session's empty acknowledgement.
    expect(() =>
      decodeEmpty(hex('8002 00000013 00000000 00000000 0000 01 0000'), 'TPM2_PCR_Extend', 1),
    ).not.toThrow();
    expectKind(() => encodePcrExtend(4, 'sha256', digest.subarray(1)), TpmError, 'bad-argument');
    expectKind(() => encodePcrExtend(24, 'sha256', digest), TpmError, 'bad-argument');
  });

  it('TPM2_RSA_Decrypt: OAEP with the hash, empty label', () => {
    expect(encodeRsaDecrypt(0x80000001, hex('c0ffee'), 'sha384')).toEqual(
      hex('8002 00000026 00000159 80000001 00000009 40000009 0000 01 0000 0003 c0ffee 0017 000c 0000'),
    );
  });

  it('TPM2_RSA_Decrypt: RSAES has no hash in its scheme', () => {
    expect(encodeRsaDecrypt(0x80000001, hex('c0ffee'), 'rsaes')).toEqual(
      hex('8002 00000024 00000159 80000001 00000009 40000009 0000 01 0000 0003 c0ffee 0015 0000'),
    );
  });

  it('TPM2_FlushContext: the handle is a parameter', () => {
    expect(encodeFlushContext(0x80000000)).toEqual(hex('8001 0000000e 00000165 80000000'));
  });

  it('the ephemeral key template: RSA-2048 decrypt, not restricted, scheme NULL; with a policy no userWithAuth', () => {
    // decrypt 0x20000 | noDA 0x400 | userWithAuth 0x40 | sensitiveDataOrigin 0x20 | fixedParent 0x10 | fixedTPM 0x2
    expect(writePublic(ephemeralKeyTemplate())).toEqual(
      hex('0001 000b 00020472 0000 0010 0010 0800 00000000 0000'),
    );
    const policy = Buffer.alloc(32, 0xab);
    expect(writePublic(ephemeralKeyTemplate(policy))).toEqual(
      Buffer.concat([hex('0001 000b 00020432 0020'), policy, hex('0010 0010 0800 00000000 0000')]),
    );
    const command = encodeCreatePrimary(TPM_RH.NULL, ephemeralKeyTemplate());
    expect(command).toEqual(
      hex(
        '8002 0000003f 00000131 40000007 00000009 40000009 0000 01 0000' +
          '0004 0000 0000' + // TPM2B_SENSITIVE_CREATE: empty userAuth and data
          '0016 0001 000b 00020472 0000 0010 0010 0800 00000000 0000' +
          '0000 00000000', // outsideInfo, creationPCR
      ),
    );
  });

  it('PolicyPCR digest: H(0³² ‖ TPM_CC_PolicyPCR ‖ selection ‖ PCR digest)', () => {
    const values = hex('11'.repeat(32));
    const expected = crypto
      .createHash('sha256')
      .update(Buffer.concat([Buffer.alloc(32), hex('0000017f 00000001 000b 03 030000'), values]))
      .digest();
    expect(policyPcrDigest([{ hash: 'sha256', pcrs: [0, 1] }], values)).toEqual(expected);
  });

  it('refuses what does not fit: a nonce over 66 bytes, PCR 24, NV chunks of 0', () => {
    expectKind(() => encodeQuote(0x81000003, Buffer.alloc(67), []), TpmError, 'bad-argument');
    expectKind(() => encodePcrRead([{ hash: 'sha256', pcrs: [24] }]), TpmError, 'bad-argument');
    expectKind(() => nvChunks(10, 0), TpmError, 'bad-argument');
    expect(nvChunks(2048, 1024)).toEqual([
      { offset: 0, size: 1024 },
      { offset: 1024, size: 1024 },
    ]);
    expect(nvChunks(1500, 1024)).toEqual([
      { offset: 0, size: 1024 },
      { offset: 1024, size: 476 },
    ]);
  });
});

describe('responses of a real TPM (swtpm)', () => {
  it('GetCapability: TPM_PT_NV_BUFFER_MAX', () => {
    expect(decodeTpmProperties(response('nv-buffer-max')).get(TPM_PT.NV_BUFFER_MAX)).toBe(1024);
  });

  it('ReadPublic of the AK: an RSA-2048 restricted signing key whose name is its digest', () => {
    const ak = decodeReadPublic(response('ak-public'));
    expect(ak.public.keyBits).toBe(2048);
    expect(ak.public.scheme).toEqual({ scheme: 'rsassa', hash: 'sha256' });
    expect(publicKeyOf(ak.public).export({ format: 'der', type: 'spki' })).toEqual(
      akKey.export({ format: 'der', type: 'spki' }),
    );
    expect(ak.name).toEqual(objectName(ak.publicArea));
  });

  it('NV_ReadPublic and NV_Read of the AK certificate', () => {
    const { public: pub } = decodeNvReadPublic(response('ak-certificate', 0));
    expect(pub.nvIndex).toBe(0x01c101d0);
    const data = decodeNvRead(response('ak-certificate', 1), pub.dataSize);
    expect(new crypto.X509Certificate(data).publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      akKey.export({ format: 'der', type: 'spki' }),
    );
  });

  it('CreatePrimary, Certify by the AK: the signature verifies and names the new key', () => {
    const key = decodeCreatePrimary(response('ephemeral-key'));
    expect(key.handle >>> 24).toBe(0x80);
    expect(key.public.attributes).toBe(0x20472);
    const certify = decodeCertify(response('certify'));
    expect(verifyAttestSignature(certify.attestBytes, certify.signature, akKey)).toBe(true);
    expect(certify.attest.name).toEqual(key.name);
    const forged = Buffer.from(certify.attestBytes);
    forged[forged.length - 1]! ^= 1;
    expect(verifyAttestSignature(forged, certify.signature, akKey)).toBe(false);
  });

  it('Quote: signed by the AK over the nonce and the digest of the PCRs read after it', () => {
    const quote = decodeQuote(response('quote', 0));
    expect(verifyAttestSignature(quote.attestBytes, quote.signature, akKey)).toBe(true);
    expect(quote.attest.extraData.toString()).toBe('securekey test nonce, 32 bytes!!');
    expect(quote.attest.pcrSelect).toEqual([{ hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    const pcrs = decodePcrRead(response('quote', 1));
    expect(pcrs.digests).toHaveLength(8);
    expect(quote.attest.pcrDigest).toEqual(pcrDigest('sha256', pcrs.digests));
  });

  it('RSA_Decrypt: the OAEP plaintext', () => {
    expect(decodeRsaDecrypt(response('rsa-decrypt')).toString()).toBe('a 32-byte key-encryption key....');
  });

  it('an error response: tpm-error with the code decoded', () => {
    const err = expectKind(
      () => decodeNvReadPublic(response('nv-read-public-undefined')),
      TpmError,
      'tpm-error',
    );
    expect(err.responseCode).toBe(0x18b);
    expect(err.rcName).toBe('TPM_RC_HANDLE (handle 1)');
  });
});

describe('bounded parsing: lengths are never trusted', () => {
  const quote = response('quote', 0);

  it('a header size that is not the length, a truncation, trailing bytes', () => {
    const lying = Buffer.from(quote);
    lying.writeUInt32BE(quote.length + 1, 2);
    expectKind(() => decodeQuote(lying), TpmError, 'malformed-response');
    const cut = Buffer.from(quote.subarray(0, quote.length - 3));
    cut.writeUInt32BE(cut.length, 2);
    expectKind(() => decodeQuote(cut), TpmError, 'malformed-response');
    const longer = Buffer.concat([quote, Buffer.alloc(2)]);
    longer.writeUInt32BE(longer.length, 2);
    expectKind(() => decodeQuote(longer), TpmError, 'malformed-response');
  });

  it('a TPM2B larger than its structure allows', () => {
    const r = Buffer.from(response('rsa-decrypt'));
    // parameterSize (4) then TPM2B size: claim 600 bytes of message
    r.writeUInt16BE(600, 14);
    expectKind(() => decodeRsaDecrypt(r), TpmError, 'malformed-response');
  });

  it('a TPM2B within the bytes but over its limit is refused, not believed', () => {
    const bytes = Buffer.concat([hex('0041'), Buffer.alloc(0x41)]);
    expectKind(
      () => new TpmReader(bytes, 'test').tpm2b(LIMIT.DIGEST, 'digest'),
      TpmError,
      'malformed-response',
    );
    expect(new TpmReader(bytes, 'test').tpm2b(0x41, 'digest')).toHaveLength(0x41);
  });

  it('a response over 4096 bytes is refused before parsing', () => {
    const big = Buffer.alloc(5000);
    big.writeUInt16BE(0x8001, 0);
    big.writeUInt32BE(5000, 2);
    expectKind(() => decodeQuote(big), TpmError, 'response-too-large');
  });

  it('a TPMS_ATTEST without TPM_GENERATED_VALUE is not believed', () => {
    const attest = Buffer.from(decodeQuote(quote).attestBytes);
    attest[0] = 0;
    expectKind(() => parseAttest(attest), TpmError, 'malformed-response');
  });

  it('a public area whose name does not match is refused', () => {
    const r = Buffer.from(response('ak-public'));
    r[r.length - 1]! ^= 1; // last byte of qualifiedName: fine; flip a byte of the name instead
    expect(() => decodeReadPublic(r)).not.toThrow();
    const nameByte = r.length - 2 - 34 - 1; // inside the name TPM2B
    r[nameByte]! ^= 1;
    expectKind(() => decodeReadPublic(r), TpmError, 'malformed-response');
  });
});

describe('response codes', () => {
  it.each([
    [0x18b, 'TPM_RC_HANDLE (handle 1)'],
    [0x28b, 'TPM_RC_HANDLE (handle 2)'],
    [0x1c4, 'TPM_RC_VALUE (parameter 1)'],
    [0x9a2, 'TPM_RC_BAD_AUTH (session 1)'],
    [0x99d, 'TPM_RC_POLICY_FAIL (session 1)'],
    [0x14c, 'TPM_RC_NV_DEFINED'],
    [0x14a, 'TPM_RC_NV_UNINITIALIZED'],
    [0x922, 'TPM_RC_RETRY'],
    [0x101, 'TPM_RC_FAILURE'],
    [0x1ff, 'TPM_RC 0x1ff'],
  ])('%#x is %s', (rc, name) => {
    expect(responseCodeName(rc)).toBe(name);
  });
});
