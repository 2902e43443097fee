import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '**/.cache/**', 'charts/**', 'kind-logs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  ...layers(),
);

/**
 * The layers (docs/design.md): core ← edge ← entry points (operator, agent, cli, sim), which never
 * import one another; tools (test, bench, scripts) may import anything. Specs (`*.test.ts`) may reach
 * the simulators and test support (`test/support/`). The core does no I/O.
 * test/component/layers.component.test.ts shows each rule failing on a deliberate violation.
 */
function layers() {
  const folder = (name) => [`**/${name}/**`, `${name}/**`];
  const tools = ['test', 'bench', 'scripts'].flatMap(folder);
  const entryPoints = ['operator', 'agent', 'cli', 'sim'];
  const nodeIo = [
    'fs',
    'fs/promises',
    'http',
    'https',
    'http2',
    'net',
    'tls',
    'dgram',
    'dns',
    'child_process',
  ];
  const rule = (files, groups, extra = []) => ({
    files,
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: extra,
          patterns: [{ group: groups, message: 'crosses a layer (docs/design.md#layers)' }],
        },
      ],
    },
  });
  const io = nodeIo
    .flatMap((m) => [`node:${m}`, m])
    .map((name) => ({ name, message: 'the core does no I/O' }));
  return [
    rule(['core/**/*.ts'], ['edge', ...entryPoints].flatMap(folder).concat(tools), io),
    rule(['edge/**/*.ts'], entryPoints.flatMap(folder).concat(tools)),
    ...entryPoints.map((self) =>
      rule(
        [`${self}/**/*.ts`],
        entryPoints
          .filter((other) => other !== self)
          .flatMap(folder)
          .concat(tools),
      ),
    ),
  ];
}
