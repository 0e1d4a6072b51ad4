import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs without an accelerator in seconds; `conformance` boots real guests.
export default defineConfig({
  test: {
    // BOOTGATE_REPORT_DIR keeps runs apart (a soak round, a test's own run).
    reporters: ['default', ['./reports/index.ts', { outputDir: process.env.BOOTGATE_REPORT_DIR ?? 'reports/out' }]],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{vmm,targets,fixtures,reports,guests,scripts,lab}/**/*.test.ts', 'suites/harness/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'conformance',
          include: ['suites/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // Each test boots its own VM process; on a 2-core host two at a time is the ceiling.
          fileParallelism: false,
        },
      },
    ],
  },
});
