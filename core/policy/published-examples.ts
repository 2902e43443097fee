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
