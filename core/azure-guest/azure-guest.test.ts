import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectKind } from '../../test/support/snp.ts';
import {
  attestationInfo,
  azureGuestRequestBody,
  azureGuestUserData,
  AzureGuestError,
  openAzureGuestToken,
  parseAzureGuestRequest,
  quoteQualifyingData,
  sealAzureGuestToken,
  tpm2bPublic,
  tpmEphemeralKey,
  type AzureGuestEvidence,
} from './index.ts';

const evidence: AzureGuestEvidence = {
  protocolVersion: '2.0',
  os: { type: 'Linux', distro: 'Ubuntu', versionMajor: 22, versionMinor: 4, build: 'NotApplication' },
  tcgLog: Buffer.from('log'),
  clientPayload: { nonce: 'n1' },
  tpm: {
    akCert: Buffer.from([0x30, 0x00]),
    akPub: tpm2bPublic(Buffer.from([1, 2])),
    pcrQuote: Buffer.from([0xff, 0x54]),
    pcrSignature: Buffer.from([0xaa]),
    encKeyPub: tpm2bPublic(Buffer.from([3])),
    encKeyCertifyInfo: Buffer.from([0xbb]),
    encKeyCertifyInfoSignature: Buffer.from([0xcc]),
    pcrs: [
      { index: 1, digest: Buffer.alloc(2, 1) },
      { index: 0, digest: Buffer.alloc(2, 0) },
    ],
  },
  isolation: {
    snpReport: Buffer.from([0xfb, 0xff]),
    vcekCertChainPem: 'PEM',
    runtimeData: Buffer.from('{}'),
  },
};

/** RSAES-PKCS1-v1_5 decryption in software (Node refuses the padding for private decryption). */
function rsaesDecrypt(key: crypto.KeyObject, data: Buffer): Buffer {
  const em = crypto.privateDecrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, data);
  if (em[0] !== 0 || em[1] !== 2) throw new Error('not PKCS#1 v1.5 type 2');
  return em.subarray(em.indexOf(0, 2) + 1);
}

describe('the AzureGuest request', () => {
  it('has AttestationClient’s names, encodings and (jsoncpp’s sorted) order', () => {
    expect(JSON.stringify(attestationInfo(evidence))).toBe(
      '{"AttestationProtocolVersion":"2.0","ClientPayload":{"nonce":"bjE="},' +
        '"IsolationInfo":{"Evidence":{"Proof":"' +
        Buffer.from('{"SnpReport":"-_8","VcekCertChain":"PEM"}').toString('base64') +
        '","RunTimeData":"e30="},"Type":"SevSnp"},' +
        '"OSBuild":"Tm90QXBwbGljYXRpb24=","OSDistro":"VWJ1bnR1","OSType":"TGludXg=",' +
        '"OSVersionMajor":22,"OSVersionMinor":4,"TcgLogs":"bG9n",' +
        '"TpmInfo":{"AikCert":"MAA=","AikPub":"AAIBAg==","EncKeyCertifyInfo":"uw==",' +
        '"EncKeyCertifyInfoSignature":"zA==","EncKeyPub":"AAED",' +
        '"PCRs":[{"Digest":"AAA=","Index":0},{"Digest":"AQE=","Index":1}],' +
        '"PcrQuote":"/1Q=","PcrSet":[0,1],"PcrSignature":"qg=="}}',
    );
  });

  it('is {"AttestationInfo": base64url(JSON)} and reads back', () => {
    const body = azureGuestRequestBody(evidence);
    const outer = JSON.parse(body) as { AttestationInfo: string };
    expect(Object.keys(outer)).toEqual(['AttestationInfo']);
    expect(outer.AttestationInfo).not.toMatch(/[+/=]/);
    const back = parseAzureGuestRequest(Buffer.from(body));
    expect(back.clientPayload).toEqual({ nonce: 'n1' });
    expect(back.tpm.pcrs.map((p) => p.index)).toEqual([0, 1]);
    expect(back.tpm.akPub).toEqual(evidence.tpm.akPub);
    expect(back.isolation.snpReport).toEqual(evidence.isolation.snpReport);
    expect(back.isolation.vcekCertChainPem).toBe('PEM');
    expect(back.os).toEqual(evidence.os);
  });

  it('names the field a malformed request lacks', () => {
    const info = attestationInfo(evidence) as { TpmInfo: Record<string, unknown> };
    delete info.TpmInfo['EncKeyPub'];
    const body = JSON.stringify({ AttestationInfo: Buffer.from(JSON.stringify(info)).toString('base64url') });
    const err = expectKind(() => parseAzureGuestRequest(Buffer.from(body)), AzureGuestError, 'bad-request');
    expect(err.message).toContain('TpmInfo.EncKeyPub');
  });

  it('binds the nonce: quote qualifying data and user data', () => {
    expect(quoteQualifyingData('abc').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const ud = azureGuestUserData(Buffer.from('abc'), 'abc');
    expect(ud.length).toBe(64);
    expect(ud.subarray(0, 32)).toEqual(ud.subarray(32));
  });
});

describe('the sealed answer', () => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln';

  it('has AttestationClient’s members, and opens with the inner key decrypted by RSAES', async () => {
    const key = Buffer.alloc(32, 7);
    const iv = Buffer.alloc(12, 9);
    const token = sealAzureGuestToken(jwt, publicKey, { key, iv });
    const sealed = JSON.parse(Buffer.from(token, 'base64url').toString()) as Record<string, unknown>;
    expect(Object.keys(sealed)).toEqual([
      'AuthenticationData',
      'EncryptedInnerKey',
      'EncryptionParams',
      'Jwt',
    ]);
    expect(sealed['EncryptionParams']).toEqual({
      BlockMode: 'ChainingModeGCM',
      BlockPadding: 'PKCS7',
      Cipher: 'AES',
      Iv: iv.toString('base64'),
      KeySizeInBits: 256,
    });
    // AES-256-GCM of the JWT with AAD "Transport Key", independently computed.
    const c = crypto.createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from('Transport Key'));
    const expected = Buffer.concat([c.update(jwt), c.final()]);
    expect(sealed['Jwt']).toBe(expected.toString('base64'));
    expect(sealed['AuthenticationData']).toBe(c.getAuthTag().toString('base64'));
    const seen: Buffer[] = [];
    const opened = await openAzureGuestToken(token, (inner) => {
      seen.push(inner);
      return rsaesDecrypt(privateKey, inner);
    });
    expect(opened).toBe(jwt);
    expect(seen[0]!.length).toBe(256);
  });

  it('refuses an altered Jwt and an answer that is not sealed', async () => {
    const sealed = JSON.parse(
      Buffer.from(sealAzureGuestToken(jwt, publicKey), 'base64url').toString(),
    ) as Record<string, string>;
    const ct = Buffer.from(sealed['Jwt']!, 'base64');
    ct[0]! ^= 1;
    const altered = Buffer.from(JSON.stringify({ ...sealed, Jwt: ct.toString('base64') })).toString(
      'base64url',
    );
    await expect(openAzureGuestToken(altered, (k) => rsaesDecrypt(privateKey, k))).rejects.toMatchObject({
      kind: 'decryption-failed',
    });
    await expect(openAzureGuestToken(jwt, () => Buffer.alloc(32))).rejects.toMatchObject({
      kind: 'bad-response',
    });
    const cbc = {
      ...sealed,
      EncryptionParams: { ...(sealed['EncryptionParams'] as unknown as object), BlockMode: 'CBC' },
    };
    await expect(
      openAzureGuestToken(Buffer.from(JSON.stringify(cbc)).toString('base64url'), () => Buffer.alloc(32)),
    ).rejects.toMatchObject({ kind: 'unsupported-encryption' });
  });

  it('finds TpmEphemeralEncryptionKey in x-ms-runtime.keys', () => {
    const jwk = {
      ...publicKey.export({ format: 'jwk' }),
      kid: 'TpmEphemeralEncryptionKey',
      key_ops: ['encrypt'],
    };
    const found = tpmEphemeralKey({ 'x-ms-runtime': { keys: [{ kid: 'other', kty: 'RSA' }, jwk] } });
    expect(found.key.export({ format: 'jwk' }).n).toBe(jwk.n);
    expectKind(() => tpmEphemeralKey({ 'x-ms-runtime': { keys: [] } }), AzureGuestError, 'no-ephemeral-key');
  });
});
