import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{core,operator,agent,sim,cli}/**/*.test.ts', 'test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
    ],
  },
});
