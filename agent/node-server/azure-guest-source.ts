/**
 * The confidential-VM key source (issue 14): the node attests through its vTPM — the HCL report and a
 * PCR quote, Azure Attestation `AzureGuest` — and the vault releases each key wrapped to the TPM's
 * ephemeral key (`TpmEphemeralEncryptionKey`), whose private half never leaves the TPM: the RSA block of
 * `key_hsm` is decrypted by `TPM2_RSA_Decrypt` and the rest unwrapped with AES-KWP here. The release is
 * verified as in pod mode (the vault's signed JWS under Azure's roots) before anything is unwrapped.
 *
 * One attestation token (and its TPM key) per authority, reused until shortly before it expires; the
 * old key is flushed from the TPM when a new token replaces it. Plaintext lives only in memory.
 */
import { parseKeyHsm, unwrapKeyHsmWith } from '../../core/keywrap/key-hsm.ts';
import { keyMaterialFromPlaintext, vaultPlaintext } from '../../core/keys/key-material.ts';
import {
  AzureGuestAttestation,
  readTcgLog,
  type AzureGuestToken,
} from '../../edge/azure/azure-guest-client.ts';
import { AzureVtpm } from '../../edge/tpm/index.ts';
import type { AgentConfig } from '../config.ts';
import { ThimClient } from '../evidence/thim.ts';
import { releaseKey } from '../release/release-key.ts';
import { KeySourceError, keySpecOf, type KeyRef, type KeySource, type ReleasedKey } from './key-source.ts';
import { asKeySourceError } from './pod-attestation-source.ts';
import { ReusedToken, tokenExpiry } from '../reused-token.ts';
import { VaultAccess } from './vault-access.ts';
import { identityName } from '../identity.ts';

const RELEASE_DEADLINE_MS = 20_000;
/** The TPM's ephemeral key is RSA-2048: the first 256 bytes of key_hsm are its RSA block. */
const TPM_KEY_BYTES = 256;

export interface AzureGuestSourceOptions {
  /** How to reach Entra, the vault, THIM and the trust roots: pod mode's settings (identity, CA, THIM). */
  config: AgentConfig;
  /** The vTPM: `/dev/tpmrm0` on a node, `unix:<path>` or `tcp:<host>:<port>` for a simulated one. */
  tpm: string;
  /** The TCG event log, read at each attestation (Linux's securityfs file on a node). */
  tcgLog: string;
}

export class AzureGuestKeySource implements KeySource {
  readonly name = 'azure-guest';
  private readonly config: AgentConfig;
  private readonly vtpm: AzureVtpm;
  private readonly tokens = new Map<string, { reused: ReusedToken; current?: AzureGuestToken }>();
  private readonly vault: VaultAccess;
  private readonly tcgLog: string;

  constructor(o: AzureGuestSourceOptions) {
    this.config = o.config;
    this.tcgLog = o.tcgLog;
    this.vault = new VaultAccess(o.config);
    this.vtpm = AzureVtpm.open(o.tpm);
  }

  async release(ref: KeyRef, o: { signal: AbortSignal }): Promise<ReleasedKey> {
    const spec = keySpecOf(ref);
    const deadline = Date.now() + RELEASE_DEADLINE_MS;
    let plaintext: Buffer | undefined;
    try {
      const caPem = await this.vault.ca();
      const slot = this.slotFor(ref.authority, caPem);
      const token = await slot.reused.get();
      const attested = slot.current;
      if (attested === undefined || attested.token !== token) {
        throw new KeySourceError('unavailable', 'the attestation token and its TPM key went out of step');
      }
      const release = await releaseKey(spec, this.vault.client(ref.vaultUrl, caPem, deadline), token, {
        enc: this.config.releaseEnc,
        trustRoots: await this.vault.trustRoots(),
        hostData: '(the node’s: a confidential VM)',
        clientId: identityName(this.config.identity),
        admissionDeadline: 0,
        signal: o.signal,
        now: () => new Date(),
      });
      const envelope = parseKeyHsm(release.keyHsm);
      if (envelope.header.kid !== 'TpmEphemeralEncryptionKey') {
        throw new KeySourceError(
          'refused',
          `key ${ref.keyName} is wrapped to ${JSON.stringify(envelope.header.kid)}, not the TPM's ephemeral key`,
        );
      }
      plaintext = await unwrapKeyHsmWith(envelope, TPM_KEY_BYTES, (block, hash) =>
        this.vtpm.decryptOaep(attested.key, block, hash),
      );
      // The plaintext must be the key type the vault says before it is served.
      const material = keyMaterialFromPlaintext(plaintext, release.kty);
      return {
        kid: release.kid,
        kty: release.kty,
        plaintext: vaultPlaintext(material),
        keyOps: release.keyOps,
      };
    } catch (err) {
      throw asKeySourceError(err);
    } finally {
      plaintext?.fill(0);
    }
  }

  async close(): Promise<void> {
    for (const slot of this.tokens.values()) {
      if (slot.current !== undefined) await this.vtpm.flush(slot.current.key).catch(() => undefined);
    }
    await this.vtpm.close();
  }

  private slotFor(
    authority: string,
    caPem: string | undefined,
  ): { reused: ReusedToken; current?: AzureGuestToken } {
    let slot = this.tokens.get(authority);
    if (slot !== undefined) return slot;
    const ca = caPem === undefined ? {} : { caPem };
    const attestation = new AzureGuestAttestation({
      attestationUrl: authority,
      vtpm: this.vtpm,
      // THIM on the node (IMDS) certifies the platform's current VCEK, as Azure's guest attestation does.
      vcekChain: async () => {
        const thim = await new ThimClient({ url: this.config.thimUrl, ...ca }).certification();
        return thim.vcekCert + thim.certificateChain;
      },
      tcgLog: () => readTcgLog(this.tcgLog),
      ...ca,
    });
    const fresh: { reused: ReusedToken; current?: AzureGuestToken } = {
      reused: new ReusedToken(async () => {
        const attested = await attestation.attest({ deadline: Date.now() + RELEASE_DEADLINE_MS });
        const old = fresh.current;
        fresh.current = attested;
        if (old !== undefined) await this.vtpm.flush(old.key).catch(() => undefined);
        return { token: attested.token, expiresAt: tokenExpiry(attested.token) };
      }),
    };
    slot = fresh;
    this.tokens.set(authority, slot);
    return slot;
  }
}
