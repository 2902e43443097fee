// Generated from crds/securekey.yaml by `npm run gen:api`. Do not edit by hand.
import type { ObjectMeta } from './meta.ts';

export const GROUP = 'securekey.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = 'securekey.io/v1alpha1';
export const KIND = 'SecureKey';
export const PLURAL = 'securekeys';

export const DEPLOYMENT_MODES = ['Pod', 'Node'] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

export const VAULT_TYPES = ['KeyVaultPremium', 'ManagedHSM'] as const;
export type VaultType = (typeof VAULT_TYPES)[number];

export const KEY_TYPES = ['oct-HSM', 'RSA-HSM', 'EC-HSM'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const KEY_CURVES = ['P-256', 'P-384', 'P-521', 'P-256K'] as const;
export type KeyCurve = (typeof KEY_CURVES)[number];

export const KEY_OPERATIONS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'] as const;
export type KeyOperation = (typeof KEY_OPERATIONS)[number];

export const POLICY_SCHEMES = ['kata-agent-policy', 'kata-initdata', 'aci-cce'] as const;
export type PolicyScheme = (typeof POLICY_SCHEMES)[number];

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

export const DIGEST_SOURCES = ['Static', 'Pod'] as const;
export type DigestSource = (typeof DIGEST_SOURCES)[number];

/**
 * SecureKey is an exportable HSM key whose release policy admits exactly the attested pods this
 * resource selects. The key material never enters the cluster except inside those pods.
 */
export interface SecureKey {
  /** APIVersion of this object (securekey.io/v1alpha1). */
  apiVersion?: string;
  /** Kind of this object (SecureKey). */
  kind?: string;
  metadata?: ObjectMeta;
  /** Desired state of the key and of who may receive it. */
  spec: SecureKeySpec;
  /** Observed state, written by the operator. */
  status?: SecureKeyStatus;
}

/** Desired state of the key and of who may receive it. */
export interface SecureKeySpec {
  /**
   * Where the trusted execution environment ends. Pod (default): each pod is its own AMD SEV-SNP VM
   * (AKS confidential containers, confidential ACI); the release policy admits the security-policy
   * digests of approved pods and each pod's agent attests for itself. Node: the node is an SEV-SNP
   * confidential VM (AKS confidential-VM node pools); the release policy admits attested
   * Azure-compliant confidential VMs, the node agent attests and releases, and serves the key to the
   * pods this resource selects. Immutable. Default: "Pod".
   */
  mode?: DeploymentMode;
  /** The vault that holds the key. Immutable. */
  vault: VaultSpec;
  /** The HSM key to create and keep. */
  key: KeySpec;
  /** Which attestation tokens the release policy accepts. */
  attestation: AttestationSpec;
  /**
   * Which pods may receive the key. In pod mode their approved policy digests enter the release
   * policy; in node mode the policy names no pods and the node agent applies these rules to each pod
   * it serves.
   */
  workloads: WorkloadsSpec;
  /**
   * When the operator creates a new key version: periodically (interval), on request (requestedAt),
   * or both. Each new version gets the current release policy.
   */
  rotation?: RotationSpec;
  /**
   * How long a digest stays admitted after the last pod carrying it is gone, so rolling updates and
   * restarts never strand a running workload. At most 720h (30 days); a digest needed for longer
   * belongs in spec.workloads.allowedDigests. Pod mode only. Default: "24h".
   */
  digestRetention?: string;
  /**
   * What happens to the vault key when this SecureKey is deleted: Retain leaves it, Delete deletes
   * it (soft delete; the vault's purge protection still applies). Default: "Retain".
   */
  deletionPolicy?: DeletionPolicy;
}

/** The vault that holds the key. Immutable. */
export interface VaultSpec {
  /**
   * Vault URL, e.g. https://contoso.vault.azure.net (Key Vault Premium) or
   * https://contoso.managedhsm.azure.net (Managed HSM).
   */
  url: string;
  /**
   * Vault flavour. Defaults from the URL: hosts under managedhsm.azure.net are ManagedHSM, others
   * KeyVaultPremium. Set it for vaults reached under other names (simulators).
   */
  type?: VaultType;
}

/** The HSM key to create and keep. */
export interface KeySpec {
  /** Key name in the vault (letters, digits and dashes). Immutable. */
  name: string;
  /** Key type. oct-HSM exists only on Managed HSM. Immutable. */
  type: KeyType;
  /** Key size in bits: RSA-HSM 2048 (default), 3072 or 4096; oct-HSM 128, 192 or 256 (default). */
  size?: number;
  /** Curve of an EC-HSM key (default P-256). */
  curve?: KeyCurve;
  /** Permitted key operations (JSON Web Key key_ops). Defaults by key type. */
  operations?: KeyOperation[];
}

/** Which attestation tokens the release policy accepts. */
export interface AttestationSpec {
  /**
   * Microsoft Azure Attestation instance URLs whose tokens are accepted, e.g.
   * https://sharedeus.eus.attest.azure.net.
   */
  authorities: string[];
  /**
   * Accepted x-ms-compliance-status values (in node mode, of x-ms-isolation-tee). Defaults by mode
   * and policy scheme: azure-compliant-cvm in node mode; azure-signed-katacc-uvm for Kata schemes,
   * azure-compliant-uvm for aci-cce.
   */
  complianceStatuses?: string[];
  /**
   * Extra claim conditions every admitted token must also meet, e.g. in node mode x-ms-azurevm-*
   * claims such as x-ms-azurevm-default-securebootkeysvalidated = true.
   */
  claims?: ClaimCondition[];
}

export interface ClaimCondition {
  /** Claim name; dots walk into nested claims (x-ms-runtime.client). */
  claim: string;
  /** Required value, compared in string form (true, 0, hex digests). */
  equals: string;
}

/**
 * Which pods may receive the key. In pod mode their approved policy digests enter the release
 * policy; in node mode the policy names no pods and the node agent applies these rules to each pod
 * it serves.
 */
export interface WorkloadsSpec {
  /**
   * Pods in this namespace that may receive the key (in pod mode, whose policy digests are
   * admitted). Pods must also carry the label securekey.io/inject=true. An empty selector selects
   * every opt-in pod.
   */
  podSelector?: LabelSelector;
  /**
   * Where a pod's security-policy digest (SEV-SNP HOST_DATA) comes from: kata-agent-policy
   * (annotation io.katacontainers.config.agent.policy), kata-initdata
   * (io.katacontainers.config.hypervisor.cc_init_data) or aci-cce
   * (microsoft.containerinstance.virtualnode.ccepolicy). Pod mode only; ignored in node mode.
   * Default: "kata-agent-policy".
   */
  policyScheme?: PolicyScheme;
  /**
   * Who decides which pod digests are admitted. Signed (default): only digests in allowedDigests or
   * carried by a pod with a valid securekey.io/approval signature by one of approvers; other digests
   * are proposed in status. Observed: the digest of every selected pod is admitted, so anyone who
   * can create pods in this namespace can receive the key (as with a Kubernetes Secret). Default:
   * "Signed".
   */
  approval?: 'Signed' | 'Observed';
  /**
   * Public keys whose approval signatures admit a pod's digest (securekey approve). Made where the
   * pod's policy is generated, e.g. in CI.
   */
  approvers?: SpecWorkloadsApproversItem[];
  /**
   * Digests admitted whether or not a pod with them is running (at most 32, leaving room for
   * observed pod digests within the release policy limit of 48). Pod mode only.
   */
  allowedDigests?: string[];
}

/**
 * Pods in this namespace that may receive the key (in pod mode, whose policy digests are
 * admitted). Pods must also carry the label securekey.io/inject=true. An empty selector selects
 * every opt-in pod.
 */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface SpecWorkloadsApproversItem {
  /** Who this key belongs to, as status and securekey explain name it. */
  name: string;
  /**
   * The approver's public JWK: EC (P-256, P-384, P-521), OKP (Ed25519) or RSA. Private members are
   * refused.
   */
  publicKey: SpecWorkloadsApproversItemPublicKey;
}

/**
 * The approver's public JWK: EC (P-256, P-384, P-521), OKP (Ed25519) or RSA. Private members are
 * refused.
 */
export interface SpecWorkloadsApproversItemPublicKey {
  kty: 'EC' | 'OKP' | 'RSA';
  crv?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519';
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  /** Never set; present only so a private key is refused, not pruned. */
  d?: string;
  kid?: string;
}

/**
 * When the operator creates a new key version: periodically (interval), on request (requestedAt),
 * or both. Each new version gets the current release policy.
 */
export interface RotationSpec {
  /**
   * Rotate once now: a current version created before this moment is replaced (a moment still ahead
   * is waited for). Set by `securekey rotate`; setting it again later rotates again.
   */
  requestedAt?: string;
  /** Time between versions as a duration, e.g. 720h. At least 1h, at most 8760h (a year). */
  interval?: string;
}

/** Observed state, written by the operator. */
export interface SecureKeyStatus {
  /** The spec generation this status describes. */
  observedGeneration?: number;
  /** Ready, KeyReady and PolicySynced. */
  conditions?: Condition[];
  /** The vault key as last seen. */
  key?: KeyStatus;
  /** The release policy as last written to the vault. */
  policy?: PolicyStatus;
  /**
   * Digests on selected pods that no approver signed (approval Signed): not admitted. Approve one
   * with securekey approve, or list it in spec.workloads.allowedDigests. At most 16 are listed;
   * proposalCount counts all.
   */
  proposals?: StatusProposalsItem[];
  /** Number of unapproved digests on selected pods. */
  proposalCount?: number;
}

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The vault key as last seen. */
export interface KeyStatus {
  /** Versioned key identifier (kid URL). */
  id?: string;
  /** Current key version. */
  version?: string;
  /** When the current version was created. */
  createdAt?: string;
}

/** The release policy as last written to the vault. */
export interface PolicyStatus {
  /** SHA-256 of the canonical release policy JSON. */
  hash?: string;
  /** Number of admitted digests. */
  digestCount?: number;
  /** When the vault's policy was last confirmed equal to the desired one. */
  syncedAt?: string;
  /** Admitted digests and where each came from. */
  digests?: DigestStatus[];
}

export interface DigestStatus {
  /** Expected SEV-SNP HOST_DATA, 64 lowercase hex. */
  digest: string;
  /** Static (spec.workloads.allowedDigests) or Pod (observed on a pod). */
  source: DigestSource;
  /** A pod that carried this digest when it was last seen. */
  pod?: string;
  firstSeen: string;
  /**
   * When the last selected pod carrying this digest went away (absent while pods carry it); the
   * digest stays admitted until lastSeen + spec.digestRetention.
   */
  lastSeen?: string;
  /**
   * The approver whose signature admitted this pod digest (spec.workloads.approvers name); absent
   * for Static digests and under approval Observed.
   */
  approvedBy?: string;
  /** When the approval ends; the digest then leaves the release policy at once, retention or not. */
  approvalExpires?: string;
}

export interface StatusProposalsItem {
  /** The pod's policy digest (SEV-SNP HOST_DATA). */
  digest: string;
  /** A pod carrying it (namespace/name). */
  pod: string;
  /** When the operator first saw this digest unapproved. */
  since: string;
  /**
   * Why it is not approved: no-approval, malformed, unknown-signer, bad-signature, other-namespace,
   * other-securekey, other-digest, not-yet-valid or expired.
   */
  reason: string;
  message?: string;
}

/** Schema defaults, by JSON path; the API server applies them on write. */
export const SCHEMA_DEFAULTS = {
  'spec.mode': 'Pod',
  'spec.workloads.policyScheme': 'kata-agent-policy',
  'spec.workloads.approval': 'Signed',
  'spec.digestRetention': '24h',
  'spec.deletionPolicy': 'Retain',
} as const;
