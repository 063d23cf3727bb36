import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    restoreMocks: true,
    // At least 4x what the slowest test (about 15 s) and setup hook (about 30 s) take on an idle
    // 2-core machine: a busy one (six suites at once, load 15+) must not turn slowness into failures.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: keep image-heavy files from starving the spawned-CLI tests.
    maxWorkers: 2,
  },
})
