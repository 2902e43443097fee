/**
 * RFC 6902 patch from `before` to `after` (for AdmissionReview responses): objects member by member,
 * arrays element by element when their length is unchanged and wholesale otherwise — always correct,
 * and small for what injection changes. Paths escape "~" and "/" (RFC 6901).
 */
export type PatchOperation =
  { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function diff(before: unknown, after: unknown, path = ''): PatchOperation[] {
  if (same(before, after)) return [];
  if (isObj(before) && isObj(after)) {
    const ops: PatchOperation[] = [];
    for (const k of Object.keys(before)) {
      if (!(k in after) || after[k] === undefined) ops.push({ op: 'remove', path: `${path}/${escape(k)}` });
    }
    for (const [k, v] of Object.entries(after)) {
      if (v === undefined) continue;
      if (!(k in before) || before[k] === undefined)
        ops.push({ op: 'add', path: `${path}/${escape(k)}`, value: v });
      else ops.push(...diff(before[k], v, `${path}/${escape(k)}`));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => diff(b, after[i], `${path}/${i}`));
  }
  return [{ op: 'replace', path, value: after }];
}

/** Applies a patch made by `diff` (tests, and `securekey inject --dry-run` style checks). */
export function applyPatch(doc: unknown, ops: readonly PatchOperation[]): unknown {
  let root = structuredClone(doc);
  for (const op of ops) {
    const parts =
      op.path === ''
        ? []
        : op.path
            .slice(1)
            .split('/')
            .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (parts.length === 0) {
      if (op.op === 'remove') throw new Error('cannot remove the document root');
      root = structuredClone(op.value);
      continue;
    }
    let node = root as Record<string, unknown> | unknown[];
    for (const p of parts.slice(0, -1))
      node = (node as Record<string, unknown>)[p] as Record<string, unknown>;
    const last = parts.at(-1)!;
    if (op.op === 'remove') {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
    } else if (Array.isArray(node)) {
      node[Number(last)] = structuredClone(op.value);
    } else {
      node[last] = structuredClone(op.value);
    }
  }
  return root;
}
