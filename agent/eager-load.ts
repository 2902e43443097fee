/**
 * In the shipped bundle (ADR 19): loads the agent's path with V8 compiling every function in it up front,
 * then restores lazy compilation.
 *
 * Why: V8 compiles a function when it is first called, and an init container calls the agent's path exactly
 * once — after the runtime key pair is made, where every millisecond counts. Compiled while the key pair is
 * made (it runs on libuv's pool, the main thread would only wait), the path then runs at once; Node's compile
 * cache keeps what was compiled with the script, so later starts read it instead of compiling. Node's own
 * modules that the path needs are loaded first, with lazy compilation, so that only our code is compiled
 * eagerly (Node's built-in code cache is keyed by V8's flags and would otherwise be refused).
 * Measured in bench/README.md ("Agent"); ADR 19.
 */
import { createRequire } from 'node:module';
import v8 from 'node:v8';

const require = createRequire(import.meta.url);

/** Defined (true) by scripts/bundle-agent.ts. From source, Node's ES module loader compiling ~90 files
 * eagerly cost more than it saved (exploratory runs: loading 65 → 100 ms), so source runs keep V8's default. */
declare const SECUREKEY_BUNDLE: boolean | undefined;
const bundled = typeof SECUREKEY_BUNDLE !== 'undefined' && SECUREKEY_BUNDLE;

/**
 * Node's modules the agent's eagerly loaded chunks (the path, the sidecar, the node client) load. The Key
 * Vault SDK is no longer among them (ADR 53): with it went its modules and undici (which the SDK's FormData
 * check needed and the path read every export of `node:http` for). agent.component.test.ts runs the
 * bundle and fails if any Node module is first loaded while `--no-lazy` is set.
 */
export const PATH_BUILTINS = [
  'node:child_process',
  'node:dns',
  'node:http',
  'node:https',
  'node:net',
  'node:timers/promises',
  'node:tls',
] as const;

/**
 * What the node client (`securekey-agent node`: one HTTPS call to the node agent, then files) loads of
 * Node's own: loading pod mode's whole list first (undici behind node:http among it) cost it ~10–20 ms
 * of its ~115 ms start (bench/README.md, "Node mode"). node-client.component.test.ts checks the bundle
 * first loads none other under `--no-lazy`.
 */
export const NODE_CLIENT_BUILTINS = ['node:dns', 'node:http', 'node:https', 'node:timers/promises'] as const;

/**
 * Loads `load()`'s modules with every function compiled up front (bundle only; V8's default elsewhere),
 * after `builtins` with lazy compilation.
 */
export async function loadEagerly<T>(
  load: () => Promise<T>,
  builtins: readonly string[] = PATH_BUILTINS,
): Promise<T> {
  if (!bundled) return load();
  for (const name of builtins) require(name);
  v8.setFlagsFromString('--no-lazy');
  try {
    return await load();
  } finally {
    v8.setFlagsFromString('--lazy');
  }
}
