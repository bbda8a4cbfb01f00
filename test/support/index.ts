/**
 * Shared test support: the CLI runner and run budgets (cli.ts), the one polling helper (poll.ts),
 * the control client (control.ts) and the per-test fixtures (fixtures.ts, `test.extend`).
 */
export * from './cli.js'
export * from './control.js'
export * from './fixtures.js'
export * from './poll.js'
