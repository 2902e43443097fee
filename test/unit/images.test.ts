/**
 * The Dockerfile (users, Docker) and scripts/build-images.sh (CI, buildah) must build the same images:
 * both follow images/images.json — entrypoints, user, environment, working directory, the files each
 * image carries and the module that warms its compile cache.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importClosure } from '../support/import-closure.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

interface Image {
  /** Where the agent's bundle (scripts/bundle-agent.ts) goes, instead of sources and node_modules. */
  bundle?: string;
  sources: string[];
  packages: string[];
  entrypoint: string[];
  /** The compile-cache warm-up, run as the runtime user at build time. */
  warm: string[];
}

interface Spec {
  user: string;
  workdir: string;
  env: Record<string, string>;
  images: Record<string, Image>;
}

/** The modules a `node -e "await import('…')…"` warm-up loads (empty for other commands). */
const warmModules = (image: Image): string[] =>
  image.warm[1] === '-e' ? [...image.warm[2]!.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!) : [];

/** The .ts files the Helm chart runs in `image` instead of its entrypoint (`command:` beside `image:`). */
function chartCommands(image: string): string[] {
  const dir = path.join(repoRoot, 'charts/securekey/templates');
  const pattern = new RegExp(
    `image: \\{\\{ include "securekey\\.${image}Image" \\. \\}\\}\\n(?:.*\\n){0,3}?\\s*command: \\[/usr/local/bin/node, (/app/[^\\],]+\\.ts)`,
    'g',
  );
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(pattern)].map((m) => m[1]!));
}

const spec = JSON.parse(readFileSync(path.join(repoRoot, 'images/images.json'), 'utf8')) as Spec;
const dockerfile = readFileSync(path.join(repoRoot, 'images/Dockerfile'), 'utf8');
const script = readFileSync(path.join(repoRoot, 'scripts/build-images.sh'), 'utf8');

/** The instructions of one `FROM … AS <name>` stage. */
function stage(name: string): string[] {
  const lines = dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const start = lines.findIndex((l) => new RegExp(`^FROM .* AS ${name}$`).test(l));
  if (start < 0) throw new Error(`no stage ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe('images: Dockerfile and buildah script in step', () => {
  it.each(Object.keys(spec.images))(
    '%s: entrypoint, files, user and compile-cache warm-up match images.json',
    (name) => {
      const image = spec.images[name]!;
      const lines = stage(name);
      const entry = lines.find((l) => l.startsWith('ENTRYPOINT '))!;
      expect(JSON.parse(entry.slice('ENTRYPOINT '.length))).toEqual(image.entrypoint);
      const copies = lines
        .filter((l) => l.startsWith('COPY ') && !l.includes('--from'))
        .map((l) => l.split(/\s+/)[1]);
      expect(copies.sort()).toEqual([...image.sources].sort());
      for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from'))) {
        const [, src, dest] = l.split(/\s+/);
        expect(dest).toBe(`${spec.workdir}/${src}`);
      }
      if (image.bundle) {
        expect(lines).toContain(`COPY --from=agent-bundle /out ${image.bundle}`);
        expect(lines.some((l) => l.includes('node_modules'))).toBe(false);
        expect(stage('agent-bundle')).toContain('RUN node scripts/bundle-agent.ts --out /out');
      }
      expect(lines).toContain(`USER ${spec.user}`);
      // The warm-up runs as the runtime user: Node keys its cache directory by uid, so root's would go unread.
      const warm = lines.findIndex(
        (l) => l.startsWith('RUN [') && JSON.stringify(JSON.parse(l.slice(4))) === JSON.stringify(image.warm),
      );
      expect(warm, `RUN ${JSON.stringify(image.warm)}`).toBeGreaterThan(lines.indexOf(`USER ${spec.user}`));
    },
  );

  it('the shared base sets the environment and working directory of images.json', () => {
    const base = stage('base');
    const env = base
      .find((l) => l.startsWith('ENV '))!
      .slice(4)
      .split(/\s+/);
    expect(Object.fromEntries(env.map((kv) => kv.split('=') as [string, string]))).toEqual(spec.env);
    expect(base).toContain(`WORKDIR ${spec.workdir}`);
  });

  it('the buildah script takes entrypoint, user, workdir, env, sources and warm-up from images.json', () => {
    expect(script).toContain("require('./images/images.json')");
    for (const field of ['.entrypoint', '.sources', '.warm', "'m.user'", "'m.workdir'", '.env']) {
      expect(script).toContain(field);
    }
    expect(script).toContain('node_modules/node/bin/node'); // the project's pinned Node 24, as the Dockerfile's node:24
    expect(script).toContain(`--userspec=${spec.user}`); // warm as the runtime user, as the Dockerfile
    expect(script).toContain('scripts/bundle-agent.ts'); // bundled images get the same bundle
    expect(script).toContain('.bundle');
  });

  it('the agent image is the bundle; its warm-up loads the path as a run does (agent/main.ts warm-cache)', () => {
    const agent = spec.images['agent']!;
    expect(agent.bundle).toBe('/app/agent');
    expect(agent.entrypoint).toEqual(['/usr/local/bin/node', '/app/agent/main.cjs']);
    expect(agent.warm).toEqual(['/usr/local/bin/node', '/app/agent/main.cjs', 'warm-cache']);
    expect(readFileSync(path.join(repoRoot, 'agent/main.ts'), 'utf8')).toContain("=== 'warm-cache'");
  });

  it.each(Object.keys(spec.images).filter((name) => !spec.images[name]!.bundle))(
    "%s: its sources and packages cover everything its entrypoint and the chart's commands load; the Dockerfile prunes to the same packages",
    (name) => {
      const image = spec.images[name]!;
      const inImage = (file: string) =>
        image.sources.some((src) => file.startsWith(path.join(repoRoot, src) + path.sep));
      const outside: string[] = [];
      const entry = path.join(repoRoot, image.entrypoint[1]!.replace(/^\/app\//, ''));
      const warm = warmModules(image).map((m) => path.join(repoRoot, m.replace(/^\/app\//, '')));
      expect(warm.length).toBeGreaterThan(0);
      const commands = chartCommands(name).map((m) => path.join(repoRoot, m.replace(/^\/app\//, '')));
      const { packages } = importClosure([entry, ...warm, ...commands], {
        followDynamic: true,
        skip: (file) => {
          if (inImage(file)) return false;
          outside.push(path.relative(repoRoot, file));
          return true;
        },
      });
      expect([...packages].filter((p) => !image.packages.includes(p))).toEqual([]);
      // Only the operator reaches outside its image, to the embedded sandbox it loads on demand and
      // refuses clearly without (operator/main.ts).
      expect(outside.filter((f) => !(name === 'operator' && f.startsWith('sim/sandbox/')))).toEqual([]);
      if (name === 'simulators') expect(commands).toEqual([path.join(repoRoot, 'sim/cluster/main.ts')]);
      const prune = stage(`deps-${name}`).find((l) => l.startsWith('RUN '))!;
      expect((JSON.parse(prune.slice(4)) as string[]).slice(3)).toEqual(image.packages);
    },
  );

  it('the buildah script prunes each image to its packages too', () => {
    expect(script).toContain('scripts/prune-node-modules.ts');
    expect(script).toContain('.packages');
  });
});
