/**
 * Size limits of our own. Azure documents no size limit for a release policy: the grammar, the 7.4 REST
 * spec (`KeyReleasePolicy.data` has no maxLength), the Key Vault and Managed HSM service-limits pages and
 * the SDK issue trackers say nothing. What is known to work: Microsoft's own CVM policy
 * (Azure/confidential-computing-cvm `cvm_deployment/key/skr-policy.json`) is 23,413 bytes as published
 * and is applied with `az keyvault key create --policy`. We stay below that proven size.
 */

/**
 * Most digests one policy admits. Each digest costs one entry per authority and compliance status
 * (about 350 bytes each), so 48 digests with one authority and one status fill about 16.5 KiB.
 */
export const MAX_POLICY_DIGESTS = 48;

/** Most bytes of policy JSON we write: below the 23,413-byte CVM policy known to be accepted. */
export const MAX_POLICY_BYTES = 20 * 1024;

/**
 * Most bytes of policy JSON we read back (vault responses, simulated vault requests). Generous — reading
 * must accept what others wrote — but bounded so a hostile document cannot exhaust memory.
 */
export const MAX_DECODED_POLICY_BYTES = 1024 * 1024;
