import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    restoreMocks: true,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Two cores: keep image-heavy files from starving the spawned-CLI tests.
    maxWorkers: 2,
  },
})
