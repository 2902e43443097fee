/**
 * Where the vault's state lives. In memory by default; a JSON file on request, rewritten atomically
 * (temporary file with mode 0600, fsync, rename) after every change and read back on start, so a
 * restarted simulator loses nothing.
 *
 * The file holds the simulated keys' private material in the clear: keep it on tmpfs or in a
 * throwaway directory, never next to anything real.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../edge/files/atomic-file.ts';
import { STATE_FORMAT } from './state.ts';
import type { VaultState } from './state.ts';

export interface VaultStore {
  load(): VaultState | undefined;
  save(state: VaultState): void;
}

export class MemoryStore implements VaultStore {
  #saved: VaultState | undefined;

  // Copied when loaded, not at every save: serialising the whole vault after each write made every
  // answer slower with each key (1,000 keys: milliseconds a write).
  load(): VaultState | undefined {
    return this.#saved === undefined ? undefined : structuredClone(this.#saved);
  }

  save(state: VaultState): void {
    this.#saved = state;
  }
}

export class FileStore implements VaultStore {
  readonly path: string;

  constructor(file: string) {
    this.path = path.resolve(file);
  }

  load(): VaultState | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const state = JSON.parse(text) as Partial<VaultState>;
    if (state.format !== STATE_FORMAT || typeof state.keys !== 'object' || state.keys === null) {
      throw new Error(
        `${this.path} is not a vault simulator state file (format ${JSON.stringify(state.format)}, expected ${STATE_FORMAT})`,
      );
    }
    return state as VaultState;
  }

  save(state: VaultState): void {
    writeFileAtomicSync(this.path, JSON.stringify(state), { mode: 0o600 });
  }
}
