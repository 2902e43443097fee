import {
  verifySignature,
  type ApprovalClaims,
  type Approver,
  type ParsedApproval,
} from '../../core/approval/index.ts';

/**
 * Remembers approval signature checks, so a relist of 10,000 pods does not verify 10,000 signatures
 * again. An approval names its signer by key thumbprint and is checked only with the approver key of
 * that thumbprint, so the JWS text with the thumbprint decides the result; what it is judged against
 * (namespace, digest, time) is applied afresh by judgeApprovals every reconcile. Bounded: the oldest
 * entry goes first.
 */
export class ApprovalCache {
  private readonly results = new Map<string, ApprovalClaims | undefined>();
  private readonly capacity: number;
  hits = 0;
  misses = 0;

  constructor(capacity = 20_000) {
    this.capacity = capacity;
  }

  readonly verify = async (
    approval: ParsedApproval,
    approver: Approver,
  ): Promise<ApprovalClaims | undefined> => {
    // checkApprovals hands over the approver whose key thumbprint is the approval's kid, so the kid
    // names the key: no second thumbprint per check.
    const key = `${approval.kid}\n${approval.jws}`;
    if (this.results.has(key)) {
      this.hits++;
      const claims = this.results.get(key);
      // Refresh its place: recently used entries stay.
      this.results.delete(key);
      this.results.set(key, claims);
      return claims;
    }
    this.misses++;
    const claims = await verifySignature(approval, approver.publicKey);
    this.results.set(key, claims);
    if (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value as string);
    return claims;
  };

  get size(): number {
    return this.results.size;
  }
}
