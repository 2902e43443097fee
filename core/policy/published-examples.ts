/**
 * Release policies and token claims as published by Microsoft, for tests and the simulators. Texts are
 * verbatim unless marked as an excerpt; each names the repository and file it comes from.
 */

/**
 * Azure/azure-rest-api-specs, keyvault data-plane stable/7.4 `examples/ReleasePolicy-example`: the legacy
 * condition form, an SGX authority with a trailing slash, and no `version`.
 */
export const SPEC_7_4_RELEASE_POLICY =
  '{ "anyOf": [ { "allOf": [ { "claim": "x-ms-sgx-mrsigner", "condition": "equals", "value": "86788fe40448f2a12e20bf8d5e7a1c3139bc5fdc1432b370c1da3489ab649a85" }, { "claim": "x-ms-sgx-is-debuggable", "condition": "equals", "value": "false" } ], "authority": "http://localhost:8023/" } ] }\n';

/**
 * Excerpt of Azure/confidential-computing-cvm `cvm_deployment/key/skr-policy.json` (its first entry and
 * its `sharedscus` entry): authorities with a trailing slash, `anyOf` nested inside `allOf`, and no
 * `version`. The full file is 23,413 bytes and is used with `az keyvault key create --policy`.
 */
export const CVM_SKR_POLICY_EXCERPT = `{
  "anyOf": [
    {
      "allOf": [
        {
          "claim": "x-ms-compliance-status",
          "equals": "azure-compliant-cvm"
        },
        {
          "anyOf": [
            {
              "claim": "x-ms-attestation-type",
              "equals": "tdxvm"
            },
            {
              "claim": "x-ms-attestation-type",
              "equals": "sevsnpvm"
            }
          ]
        }
      ],
      "authority": "https://sharedeus.eus.attest.azure.net/"
    },
    {
      "allOf": [
        {
          "claim": "x-ms-compliance-status",
          "equals": "azure-compliant-cvm"
        },
        {
          "anyOf": [
            {
              "claim": "x-ms-attestation-type",
              "equals": "sevsnpvm"
            }
          ]
        }
      ],
      "authority": "https://sharedscus.scus.attest.azure.net/"
    }
  ]
}
`;

/**
 * Azure/azure-sdk-for-js keyvault-keys tests, 2021 (import and release against a real mHSM): the legacy
 * form under an entry-level `anyOf`, version "1.0" (the mHSM answered with "1.0.0"), and a mock issuer
 * whose tokens carry the Boolean claim `"sdk-test": true`.
 */
export const JS_SDK_2021_POLICY = {
  anyOf: [
    {
      anyOf: [{ claim: 'sdk-test', condition: 'equals', value: 'true' }],
      authority: 'https://malegerskr4.azurewebsites.net/',
    },
  ],
  version: '1.0',
};

/** The same tests today: modern form, `allOf`, still the string "true" against the Boolean claim. */
export const JS_SDK_POLICY = {
  anyOf: [
    { allOf: [{ claim: 'sdk-test', equals: 'true' }], authority: 'https://malegerskr4.azurewebsites.net/' },
  ],
  version: '1.0.0',
};

/** Claims of the mock issuer those tests used, with a trailing slash in `iss`. */
export const JS_SDK_TOKEN_CLAIMS = {
  iss: 'https://malegerskr4.azurewebsites.net/',
  'sdk-test': true,
  'x-ms-inittime': {},
  'x-ms-runtime': { keys: [{ kty: 'RSA', kid: 'fake-release-key', use: 'enc', e: 'AQAB', n: 'AQAB' }] },
  'maa-ehd': 'sdk-test',
};

/**
 * HOST_DATA of the real Milan report in testdata/snp-real: sha256 of its security policy.
 */
export const REAL_HOST_DATA = 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c';

/**
 * The policy confidential-sidecar-containers `tools/importkey` writes for its sample config (one claims
 * array: hostdata, compliance status, not debuggable, vmpl 0; authority "https://" + endpoint), with the
 * real HOST_DATA above. Go's encoding/json gives exactly this member order and no white space.
 */
export const IMPORTKEY_POLICY =
  '{"version":"1.0.0","anyOf":[{"authority":"https://sharedneu.neu.attest.azure.net","allOf":[' +
  `{"claim":"x-ms-sevsnpvm-hostdata","equals":"${REAL_HOST_DATA}"},` +
  '{"claim":"x-ms-compliance-status","equals":"azure-compliant-uvm"},' +
  '{"claim":"x-ms-sevsnpvm-is-debuggable","equals":"false"},' +
  '{"claim":"x-ms-sevsnpvm-vmpl","equals":"0"}]}]}';

/**
 * MAA SEV-SNP token claims, shaped as the 7.4-era REST example decodes, for a
 * confidential container: JSON Booleans and numbers, lowercase hex, the sharedneu issuer.
 */
export function maaContainerClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    exp: 1663825651,
    iat: 1663796851,
    nbf: 1663796851,
    iss: 'https://sharedneu.neu.attest.azure.net',
    'x-ms-attestation-type': 'sevsnpvm',
    'x-ms-compliance-status': 'azure-compliant-uvm',
    'x-ms-runtime': {
      keys: [{ e: 'AQAB', key_ops: ['encrypt'], kid: 'TransferKey', kty: 'RSA', n: 'AQAB' }],
    },
    'x-ms-sevsnpvm-bootloader-svn': 3,
    'x-ms-sevsnpvm-guestsvn': 1,
    'x-ms-sevsnpvm-hostdata': REAL_HOST_DATA,
    'x-ms-sevsnpvm-is-debuggable': false,
    'x-ms-sevsnpvm-microcode-svn': 115,
    'x-ms-sevsnpvm-migration-allowed': false,
    'x-ms-sevsnpvm-smt-allowed': true,
    'x-ms-sevsnpvm-snpfw-svn': 8,
    'x-ms-sevsnpvm-tee-svn': 0,
    'x-ms-sevsnpvm-vmpl': 0,
    'x-ms-ver': '1.0',
    ...overrides,
  };
}

/**
 * MicrosoftDocs/azure-docs `articles/confidential-computing/skr-flow-confidential-vm-sev-snp.md` ("Secure
 * Key Release with Confidential VMs How To Guide"): the `release_policy` a real Key Vault returned from
 * `release` for the guide's `cvm-release-policy.json`, verbatim. Its data decodes to the flat form with
 * nested claim names: `x-ms-isolation-tee.x-ms-attestation-type = sevsnpvm` and
 * `x-ms-isolation-tee.x-ms-compliance-status = azure-compliant-cvm`, at the sharedweu authority.
 */
export const CVM_HOWTO_RELEASE_POLICY = {
  data: 'eyJ2ZXJzaW9uIjoiMS4wLjAiLCJhbnlPZiI6W3siYXV0aG9yaXR5IjoiaHR0cHM6Ly9zaGFyZWR3ZXUud2V1LmF0dGVzdC5henVyZS5uZXQiLCJhbGxPZiI6W3siY2xhaW0iOiJ4LW1zLWlzb2xhdGlvbi10ZWUueC1tcy1hdHRlc3RhdGlvbi10eXBlIiwiZXF1YWxzIjoic2V2c25wdm0ifSx7ImNsYWltIjoieC1tcy1pc29sYXRpb24tdGVlLngtbXMtY29tcGxpYW5jZS1zdGF0dXMiLCJlcXVhbHMiOiJhenVyZS1jb21wbGlhbnQtY3ZtIn1dfV19',
  immutable: false,
};

/**
 * The body of the guest-attestation token in the same guide (an Ubuntu 20.04 CVM attested at sharedweu
 * through `AzureGuest`): the VM's claims at the top level (`x-ms-attestation-type: azurevm`,
 * `x-ms-azurevm-*`), the SEV-SNP claims inside `x-ms-isolation-tee`, and the TPM-held key the vault wraps
 * to in `x-ms-runtime.keys`. Values the guide elides ("..") are kept elided: no policy tests them.
 */
export function maaConfidentialVmClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    exp: 1671865218,
    iat: 1671836418,
    iss: 'https://sharedweu.weu.attest.azure.net',
    jti: 'ce395e5de9c638d384cd3bd06041e674edee820305596bba3029175af2018da0',
    nbf: 1671836418,
    secureboot: true,
    'x-ms-attestation-type': 'azurevm',
    'x-ms-azurevm-attestation-protocol-ver': '2.0',
    'x-ms-azurevm-attested-pcrs': [0, 1, 2, 3, 4, 5, 6, 7],
    'x-ms-azurevm-bootdebug-enabled': false,
    'x-ms-azurevm-dbvalidated': true,
    'x-ms-azurevm-dbxvalidated': true,
    'x-ms-azurevm-debuggersdisabled': true,
    'x-ms-azurevm-default-securebootkeysvalidated': true,
    'x-ms-azurevm-elam-enabled': false,
    'x-ms-azurevm-flightsigning-enabled': false,
    'x-ms-azurevm-hvci-policy': 0,
    'x-ms-azurevm-hypervisordebug-enabled': false,
    'x-ms-azurevm-is-windows': false,
    'x-ms-azurevm-kerneldebug-enabled': false,
    'x-ms-azurevm-osbuild': 'NotApplication',
    'x-ms-azurevm-osdistro': 'Ubuntu',
    'x-ms-azurevm-ostype': 'Linux',
    'x-ms-azurevm-osversion-major': 20,
    'x-ms-azurevm-osversion-minor': 4,
    'x-ms-azurevm-signingdisabled': true,
    'x-ms-azurevm-testsigning-enabled': false,
    'x-ms-azurevm-vmid': '6506B531-1634-431E-99D2-42B7D3414AD0',
    'x-ms-isolation-tee': {
      'x-ms-attestation-type': 'sevsnpvm',
      'x-ms-compliance-status': 'azure-compliant-cvm',
      'x-ms-runtime': {
        keys: [{ e: 'AQAB', key_ops: ['encrypt'], kid: 'HCLAkPub', kty: 'RSA', n: 'tXkRLAABQ7vgX96..1OQ' }],
        'vm-configuration': {
          'console-enabled': true,
          'current-time': 1671835548,
          'secure-boot': true,
          'tpm-enabled': true,
          vmUniqueId: '6506B531-1634-431E-99D2-42B7D3414AD0',
        },
      },
      'x-ms-sevsnpvm-authorkeydigest': '0000000000000..00',
      'x-ms-sevsnpvm-bootloader-svn': 3,
      'x-ms-sevsnpvm-familyId': '01000000000000000000000000000000',
      'x-ms-sevsnpvm-guestsvn': 2,
      'x-ms-sevsnpvm-hostdata': '0000000000000000000000000000000000000000000000000000000000000000',
      'x-ms-sevsnpvm-idkeydigest': '57486a44..96',
      'x-ms-sevsnpvm-imageId': '02000000000000000000000000000000',
      'x-ms-sevsnpvm-is-debuggable': false,
      'x-ms-sevsnpvm-launchmeasurement': 'ad6de16..23',
      'x-ms-sevsnpvm-microcode-svn': 115,
      'x-ms-sevsnpvm-migration-allowed': false,
      'x-ms-sevsnpvm-reportdata': 'c6500..0000000',
      'x-ms-sevsnpvm-reportid': 'cf5ea742f08cb45240e8ad4..7eb7c6c86da6493',
      'x-ms-sevsnpvm-smt-allowed': true,
      'x-ms-sevsnpvm-snpfw-svn': 8,
      'x-ms-sevsnpvm-tee-svn': 0,
      'x-ms-sevsnpvm-vmpl': 0,
    },
    'x-ms-policy-hash': 'wm9mHlvTU82e8UqoOy1..RSNkfe99-69IYDq9eWs',
    'x-ms-runtime': {
      'client-payload': { nonce: '' },
      keys: [
        {
          e: 'AQAB',
          key_ops: ['encrypt'],
          kid: 'TpmEphemeralEncryptionKey',
          kty: 'RSA',
          n: 'kVTLSwAAQpg..Q',
        },
      ],
    },
    'x-ms-ver': '1.0',
    ...overrides,
  };
}
