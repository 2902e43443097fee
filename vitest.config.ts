import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      // Pure code and the fuzz tier: no servers, no child processes; seconds (`npm run test:unit`).
      {
        test: {
          name: 'unit',
          include: ['{core,operator,agent,sim,cli,edge}/**/*.test.ts', 'test/unit/**/*.test.ts'],
          exclude: ['**/*.component.test.ts', '**/node_modules/**'],
          environment: 'node',
        },
      },
      // Simulators, servers on loopback, the agent as a child process, the real Azure SDK over HTTPS
      // (`npm run test:component`). A spec that starts a server or a process is named *.component.test.ts.
      {
        test: {
          name: 'component',
          include: [
            '{core,operator,agent,sim,cli,edge}/**/*.component.test.ts',
            'test/component/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        // A real etcd + kube-apiserver (scripts/setup-k8s.sh builds them on first use).
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 600_000,
        },
      },
      // Real pods on the local cluster (root, containerd, buildah): `npm run test:e2e`, which .ci/run runs too.
      ...(process.env['SECUREKEY_E2E'] === '1'
        ? [
            {
              test: {
                name: 'e2e',
                include: ['test/e2e/**/*.test.ts'],
                environment: 'node' as const,
                // Each file brings up its own cluster on this machine's fixed ports: one at a time.
                fileParallelism: false,
                testTimeout: 180_000,
                hookTimeout: 900_000,
              },
            },
          ]
        : []),
    ],
  },
});
