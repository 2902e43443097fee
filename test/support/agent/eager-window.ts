/**
 * Test hook, `node --import <this> <bundle>/main.cjs …`: prints one stderr line `{"eagerWindow":[…]}` per
 * window naming the Node modules first loaded while agent/eager-load.ts had V8's `--no-lazy` set. Those are
 * compiled eagerly too, and Node's own code cache is refused for them: the list should be empty.
 */
import v8 from 'node:v8';

const loaded = (): string[] => (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
const setFlags = v8.setFlagsFromString.bind(v8);
let before: Set<string> | undefined;

v8.setFlagsFromString = (flags: string): void => {
  if (flags === '--no-lazy') before = new Set(loaded());
  if (flags === '--lazy' && before) {
    const seen = before;
    process.stderr.write(`${JSON.stringify({ eagerWindow: loaded().filter((m) => !seen.has(m)) })}\n`);
    before = undefined;
  }
  setFlags(flags);
};
