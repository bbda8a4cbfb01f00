import { defineConfig } from 'vitest/config'

// Three projects, chosen by file name (so a new test lands in the right one without editing this):
//
// - `test/**/*-e2e.test.ts`   e2e: spawns processes (the compiled CLI, `chaos sandbox`, Prometheus,
//                              a tsx helper). Each CLI run is two node processes whose start-up is
//                              CPU-bound, so concurrency is bounded: 2 files at once, and inside a
//                              `describe.concurrent` file at most 2 tests at once (vitest's
//                              maxConcurrency queues the rest; a queued test's timeout has not
//                              started, unlike a hand-made limiter inside the test).
// - `test/**/*-truth.test.ts` truth: measurement truth (latency, rates, counts under real time and
//                              load). One file at a time, after everything else, on a quiet machine.
// - every other `*.test.ts`    unit: in one process (pure functions, fakes, virtual clocks, loopback
//                              servers started in-process). Parallel.
//
// Groups run one after the other (unit, e2e, truth), so the measuring tests never share the CPU with
// the suite's own CLI processes. Timeouts are per project; e2e tests derive theirs from the run's
// flags (test/support/cli.ts runBudgetMs), so the project default is only a backstop.
const E2E = 'test/**/*-e2e.test.ts'
const TRUTH = 'test/**/*-truth.test.ts'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [E2E, TRUTH],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: [E2E],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          maxConcurrency: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'truth',
          include: [TRUTH],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
