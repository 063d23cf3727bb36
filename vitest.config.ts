import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

/**
 * One project per layer (`vitest run --project unit`, or `npm run test:unit` and friends).
 * Timeouts are about 4x what the slowest test of each layer takes on an idle 2-core machine: a busy
 * one (six suites at once, load 15+) must not turn slowness into failures. Only e2e, which spawns
 * the built CLI and starts servers, gets the long ones.
 */
export default defineConfig({
  test: {
    restoreMocks: true,
    // Each worker imports sharp, undici and the CLI once, not once per file (a third of the suite's
    // time went to imports). No test relies on a fresh module: state lives in what each test makes.
    isolate: false,
    // At least six, even on two cores: most e2e files spend their time waiting (poll intervals,
    // service latency, spawned processes), and more workers fill those waits with another file's
    // work (on 2 cores, runs taking turns: six 106-112 s, four 117-120 s, three 130 s). Set here,
    // not per run: the projects take this value, not `--maxWorkers`.
    maxWorkers: Math.max(6, availableParallelism()),
    projects: [
      {
        extends: true,
        // Pure code: questions, config, rendering, retry and batch logic, error mapping; the repo's own rules.
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'test/questions/**/*.test.ts',
            'test/repo/**/*.test.ts',
          ],
          testTimeout: 15_000,
        },
      },
      {
        extends: true,
        // Real pixels through sharp (the capture corpus takes about 10 s on a busy machine).
        test: {
          name: 'image',
          include: ['test/image/**/*.test.ts'],
          testTimeout: 45_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        // Adapters against the loopback services on 127.0.0.1.
        test: {
          name: 'http',
          include: ['test/http/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        // The CLI end to end (in-process or the built binary) and the packed tarball.
        test: {
          name: 'e2e',
          include: [
            'test/e2e/**/*.test.ts',
            'test/package/**/*.test.ts',
            'test/serve/**/*.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
})
