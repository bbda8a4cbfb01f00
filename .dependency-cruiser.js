// The layer rule, run by `npm run lint` (`npm run lint:layers`); docs/architecture.md explains it.
//
// Runner layers, lowest first. A module belongs to the lowest layer whose pattern matches it; it
// may import its own layer and the layers below, never a layer above, and no cycle anywhere.
//
//   4 entry      commands/ src/index.ts        oclif commands, the package entry point
//   3 cli        src/cli/                      process, signals, output, sessions, report helpers
//   2 runner     src/engine/ src/unattended/   the experiment lifecycle, monkey and schedule loops,
//                src/observability/            Pushgateway, the agent conformance suite
//                src/conformance/ src/onboarding/ chaos init and chaos doctor
//   1 services   reports/ (renderers only)     report formats; metrics clients; scenario loading;
//                src/metrics/ src/scenario/    the report store + run lock; the interpretation
//                src/store/ src/interpretation/ rules; plan and catalogue tables; the config
//                src/render/ src/plan.ts src/config.ts src/workspace.ts
//                src/discovery/ (--discover: Prometheus, DNS)
//   0 base       src/record.ts src/protocol/   typed leaves: the run record, the wire protocol,
//                src/clock.ts src/errors.ts    clock, errors, logger, durations, exit codes,
//                src/logger.ts src/duration.ts wording, the check grammar, transport error
//                src/exit-codes.ts src/wording.ts src/scenario/checks.ts src/http/ src/calendar/
//                src/render/table.ts (tables that fit the terminal: the text report's too)
//
// Besides: reports/ imports only the base layer; the runner layer does not import reports/ (the
// store writes report files). The agent (src/agent/), the sandbox (src/sandbox/) and the proxy
// (src/proxy/) meet the runner only in src/protocol/: they may import it, src/clock.ts and
// src/logger.ts (and the sandbox and the proxy the agent they embed), and no runner module imports
// them. The bridges are `chaos sandbox` (commands/sandbox.ts starts src/sandbox/index.ts) and
// `chaos proxy` (commands/proxy.ts starts src/proxy/index.ts); `chaos run` starts the sandbox as a
// child process by its bin path (src/cli/sandbox-process.ts), which is no import.

/** Runner layers, lowest first: [name, path pattern]. */
const LAYERS = [
  [
    'base',
    '^src/(record|clock|errors|logger|duration|exit-codes|wording)[.]ts$|^src/protocol/|^src/scenario/checks[.]ts$|^src/render/table[.]ts$|^src/http/|^src/calendar/',
  ],
  [
    'services',
    '^reports/|^src/(metrics|scenario|store|interpretation|render|discovery)/|^src/(plan|config|config-files|workspace)[.]ts$',
  ],
  ['runner', '^src/(engine|unattended|observability|conformance|onboarding)/'],
  ['cli', '^src/cli/'],
  ['entry', '^commands/|^src/index[.]ts$'],
]

const APART = '^src/(agent|sandbox|proxy)/'

/** Patterns of layers 0..i joined: a module belongs to the lowest layer whose pattern matches it. */
const upTo = (i) =>
  LAYERS.slice(0, i + 1)
    .map(([, p]) => p)
    .join('|')

/** One rule per layer: nothing in it imports a layer above it. */
const upwardRules = LAYERS.slice(0, -1).map(([name, path], i) => {
  const above = LAYERS.slice(i + 1)
  const from = { path, ...(i > 0 && { pathNot: upTo(i - 1) }) }
  const to = { path: above.map(([, p]) => p).join('|'), pathNot: upTo(i) }
  return {
    name: `layer-${name}-imports-upward`,
    comment: `${name} may not import ${above.map(([n]) => n).join(', ')} (layer table: .dependency-cruiser.js)`,
    severity: 'error',
    from,
    to,
  }
})

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles tie layers together; break the cycle by moving the shared piece down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upwardRules,
    {
      name: 'flags-stay-light',
      comment:
        'Every command loads src/cli/flags.ts: it must not pull in the renderers (and zod with them), or `chaos list` start-up doubles. Report flags live in src/cli/report-flags.ts.',
      severity: 'error',
      from: { path: '^src/cli/flags[.]ts$' },
      to: { path: '^reports/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'reports-are-renderers',
      comment:
        'reports/ holds renderers only: functions of the run record, importing nothing above the base layer.',
      severity: 'error',
      from: { path: '^reports/' },
      to: { path: '^(src|commands)/', pathNot: upTo(0) },
    },
    {
      name: 'agent-sandbox-import-only-protocol',
      comment:
        'The agent and the sandbox meet the runner only in src/protocol/ (plus the clock and logger leaves).',
      severity: 'error',
      from: { path: APART },
      to: {
        path: '^(src|reports|commands)/',
        pathNot: '^src/(agent|sandbox|proxy|protocol)/|^src/(clock|logger)[.]ts$',
      },
    },
    {
      name: 'agent-imports-no-sandbox',
      comment: 'The agent is a library services embed; the sandbox and the proxy are hosts of it.',
      severity: 'error',
      from: { path: '^src/agent/' },
      to: { path: '^src/(sandbox|proxy)/' },
    },
    {
      name: 'sandbox-and-proxy-apart',
      comment: 'The sandbox and the proxy are separate hosts of the agent.',
      severity: 'error',
      from: { path: '^src/(sandbox|proxy)/' },
      to: { path: '^src/(sandbox|proxy)/', pathNot: '^src/$1/' },
    },
    {
      name: 'runner-imports-no-agent-or-sandbox',
      comment:
        'Runner code drives a target over the control protocol only; `chaos run` starts the sandbox as a child process by path.',
      severity: 'error',
      from: { path: '^(src|reports|commands)/', pathNot: `${APART}|^commands/(sandbox|proxy)[.]ts$` },
      to: { path: APART },
    },
    {
      name: 'sandbox-command-starts-sandbox-only',
      comment: '`chaos sandbox` runs the sandbox in-process through its entry point only.',
      severity: 'error',
      from: { path: '^commands/sandbox[.]ts$' },
      to: { path: APART, pathNot: '^src/sandbox/index[.]ts$' },
    },
    {
      name: 'proxy-command-starts-proxy-only',
      comment: '`chaos proxy` runs the proxy in-process through its entry point only.',
      severity: 'error',
      from: { path: '^commands/proxy[.]ts$' },
      to: { path: APART, pathNot: '^src/proxy/index[.]ts$' },
    },
    {
      name: 'runner-renders-nothing',
      comment:
        'The engine and the unattended loops produce run records; the store (src/store/) writes their report files and src/cli/ prints them.',
      severity: 'error',
      from: { path: LAYERS[2][1] },
      to: { path: '^reports/' },
    },
    {
      name: 'every-module-in-a-layer',
      comment:
        'A new folder or top-level module of src/ gets a row in the layer table before it imports anything.',
      severity: 'error',
      from: { path: '^(src|reports|commands)/', pathNot: `${upTo(LAYERS.length - 1)}|${APART}` },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would hide an edge from the rules above.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` edges count: a type from a higher layer couples the layers as much as a value.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
