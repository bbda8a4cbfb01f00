/**
 * `chaos init`: the two files a service owner starts from — a commented `chaos.config.yaml` and one
 * example scenario aimed at their own wrapped dependency, with a workload of their own routes —
 * so that `chaos doctor` and `chaos run` work on the next line. Nothing here asks questions: the
 * command passes what the flags say.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { DEFAULT_REPORTS_DIR } from '../config-files.js'
import { InvalidInputError } from '../errors.js'

/** What `chaos init` writes, before defaults. */
export interface InitOptions {
  /** Directory the files go in (the working directory). */
  cwd: string
  /** Base URL of the service (default {@link DEFAULT_INIT.target}). */
  target?: string
  /** The wrapped dependency the example scenario fails (default {@link DEFAULT_INIT.service}). */
  service?: string
  /** Routes of the service the workload sends (default `/`). */
  routes?: readonly string[]
  /** Overwrite existing files. */
  force?: boolean
}

/** The defaults of every option, shown in `chaos init --help`. */
export const DEFAULT_INIT = {
  target: 'http://localhost:3000',
  service: 'my_dependency',
  route: '/',
  scenarioDir: 'chaos-scenarios',
} as const

/** One file `chaos init` writes. */
export interface InitFile {
  /** Absolute path. */
  path: string
  /** The path relative to the working directory, as printed. */
  display: string
  text: string
}

/** What `chaos init` wrote and what to run next (`chaos init --json`). */
export interface InitResult {
  files: string[]
  target: string
  service: string
  routes: string[]
  scenario: string
  /** The commands to run next, in order. */
  next: string[]
}

const SERVICE_NAME = /^[a-z][a-z0-9_]{0,63}$/

/** Checks the options and builds both files' text; throws InvalidInputError (exit 2) on a bad value. */
export function buildInitFiles(options: InitOptions): { files: InitFile[]; result: InitResult } {
  const target = (options.target ?? DEFAULT_INIT.target).replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s/]+/.test(target)) {
    throw new InvalidInputError(
      `--target: "${target}" is not an http(s) URL`,
      'e.g. --target http://localhost:3000',
    )
  }
  const service = options.service ?? DEFAULT_INIT.service
  if (!SERVICE_NAME.test(service)) {
    throw new InvalidInputError(
      `--service: "${service}" is not a snake_case service name`,
      "the name your service wraps the dependency under, e.g. agent.wrap('payments_api', fn) → --service payments_api",
    )
  }
  const routes = options.routes && options.routes.length > 0 ? [...options.routes] : [DEFAULT_INIT.route]
  for (const route of routes) {
    if (!route.startsWith('/') || /\s/.test(route)) {
      throw new InvalidInputError(
        `--route: "${route}" is not a path`,
        'a path of your service starting with /, e.g. --route /api/quote',
      )
    }
  }
  const id = `${service}_exception`
  const config = join(options.cwd, 'chaos.config.yaml')
  const scenario = join(options.cwd, DEFAULT_INIT.scenarioDir, `${id}.yaml`)
  const display = (p: string) => relative(options.cwd, p)
  const files: InitFile[] = [
    { path: config, display: display(config), text: configText(target) },
    { path: scenario, display: display(scenario), text: scenarioText(id, service, routes) },
  ]
  return {
    files,
    result: {
      files: files.map((f) => f.display),
      target,
      service,
      routes,
      scenario: id,
      next: [
        'export CHAOS_TOKEN=<the token your service passes to createChaosAgent>',
        'chaos doctor',
        `chaos run ${display(scenario)}`,
      ],
    },
  }
}

/**
 * Writes the files. Refuses (InvalidInputError, exit 2, nothing written) when one exists and
 * `force` is not set: a hand-edited config is not replaced by accident.
 */
export async function writeInitFiles(files: readonly InitFile[], force: boolean): Promise<void> {
  if (!force) {
    const existing = files.filter((f) => existsSync(f.path))
    if (existing.length > 0) {
      throw new InvalidInputError(
        `${existing.map((f) => f.display).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written`,
        'pass --force to overwrite, or edit the existing files',
      )
    }
  }
  for (const f of files) {
    await mkdir(dirname(f.path), { recursive: true })
    await writeFile(f.path, f.text)
  }
}

function configText(target: string): string {
  return `# chaos.config.yaml, written by chaos init. Every field: docs/scenario-format.md ("Config file").
# Flags override this file; CHAOS_TARGET and CHAOS_TOKEN override target and token.

# Your service's base URL: the agent's control endpoint (/chaos) and /metrics are under it, and the
# workload's routes are sent to it. Several instances: a list, one URL per instance.
target: ${target}

# The agent's token is read from the environment, never kept in this file:
#   export CHAOS_TOKEN=<the token your service passes to createChaosAgent>

# Your scenarios: every *.yaml in these folders (chaos init wrote one).
scenario_dirs: [${DEFAULT_INIT.scenarioDir}]

# Where each run writes its reports (<time>-<selection>.json/.txt, latest.*) and events.jsonl.
reports_dir: ${DEFAULT_REPORTS_DIR}

# The built-in catalogue targets the built-in sandbox's services (pms_adapter, ...), not yours:
# catalogue: none   # builtin (default) | none: only your scenarios

# /metrics served elsewhere (another port), or the agent mounted under another prefix:
# metrics_url: http://localhost:9464/metrics
# control_prefix: /chaos

# Defaults of chaos run (each flag overrides its field):
# run: { rate: 20, baseline: 10s, interval: 1s, recovery_timeout: 2m }
`
}

function scenarioText(id: string, service: string, routes: readonly string[]): string {
  const requests = routes.map((r) => `    - path: ${yamlString(r)}`).join('\n')
  return `# yaml-language-server: $schema=../node_modules/chaos-playbook/scenarios/scenario.schema.json
# Written by chaos init. The question it asks: when ${service} fails on 30 % of calls, do your
# users notice? With a fallback (a cached value, a default, a retry) they should not.
# Fields: docs/scenario-format.md · checks: docs/checks.md · check it: chaos validate <this file>
id: ${id}
name: ${service} throws on 30 % of calls
category: service
# The dependency to fail: the name your service wraps it under, agent.wrap('${service}', fn).
target_service: ${service}
duration_seconds: 30
steady_state_hypothesis: ${service} failing on 30 % of calls does not reach the users (the fallback answers)
fault_config:
  fault_type: EXCEPTION
  probability: 0.3
  exception_class: ConnectionError
  exception_message: "chaos: ${service} unavailable"
  # Only the runner's own requests (tagged x-chaos-experiment) meet the fault: the safest start.
  # Widen to SINGLE_SERVICE once this holds (guide section 7).
  blast_radius: SINGLE_REQUEST
checks:
  - error_rate < 1% before       # healthy before anything is injected
  - faults_injected > 0 during   # the fault reached ${service} (if not, the routes below do not call it)
  - availability >= 99% during   # users did not notice: the fallback held
  - mttr_seconds < 1m after      # back to the steady state within a minute of the rollback
# What the runner sends during the experiment: routes of your service whose handling calls ${service}.
# More routes, methods and bodies: docs/scenario-format.md ("workload").
workload:
  requests:
${requests}
`
}

/** A path as a YAML scalar: quoted when YAML would read it as something else. */
function yamlString(text: string): string {
  return /^[\w/.\-~%=&?+]+$/.test(text) && !text.includes(': ') ? text : JSON.stringify(text)
}
