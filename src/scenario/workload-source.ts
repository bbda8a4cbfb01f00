/**
 * Which requests an experiment's workload sends, and the refusal of a scenario that does not say.
 * The scenario's `workload` wins, then the config's; without either the runner sends the built-in
 * sandbox's hotel routes, which only the sandbox (and the guide's hotel app) answers. A scenario
 * of your own aimed at any other target must therefore name its requests: sending hotel routes to
 * your service only measures 404s. The built-in catalogue's scenarios are never refused: each names
 * the hotel routes it needs (they are written for the guide's hotel app, which has those routes),
 * and one that did not would still be written for that app; a route answering 404 is reported.
 */
import { isAbsolute, relative } from 'node:path'
import { InvalidInputError } from '../errors.js'
import type { LoadedScenario } from './files.js'
import type { WorkloadRequest } from './schema.js'

/** The sandbox's routes: the workload when neither the scenario nor the config names one. */
export const DEFAULT_WORKLOAD: WorkloadRequest[] = [
  { method: 'GET', path: '/api/availability?check_in={{today+3}}&check_out={{today+5}}', weight: 4 },
  {
    method: 'POST',
    path: '/api/bookings',
    weight: 2,
    body: {
      guest_name: 'Chaos Guest',
      room_type: 'STANDARD',
      check_in: '{{today+3}}',
      check_out: '{{today+5}}',
    },
  },
  { method: 'POST', path: '/api/messages', weight: 2, body: { to: '+34600000000', text: 'Hola' } },
  {
    method: 'POST',
    path: '/api/emails',
    weight: 1,
    body: { to: 'guest@example.com', subject: 'Booking', body: 'Hi' },
  },
  { method: 'GET', path: '/api/sessions/guest-1', weight: 1 },
]

/**
 * Where an experiment's workload comes from: its scenario, the config's `workload:`, or the
 * sandbox's hotel routes (`DEFAULT`).
 */
export type WorkloadSource = 'SCENARIO' | 'CONFIG' | 'DEFAULT'

/** The requests an experiment sends and where they come from (the engine's choice, same order). */
export function workloadFor(
  scenario: { workload?: { requests: WorkloadRequest[] } | undefined },
  config: { workload?: { requests: WorkloadRequest[] } | undefined },
): { source: WorkloadSource; requests: WorkloadRequest[] } {
  if (scenario.workload) return { source: 'SCENARIO', requests: scenario.workload.requests }
  if (config.workload) return { source: 'CONFIG', requests: config.workload.requests }
  return { source: 'DEFAULT', requests: DEFAULT_WORKLOAD }
}

/** True when `file` is inside the built-in catalogue directory `builtinDir`. */
export function isBuiltinFile(file: string, builtinDir: string): boolean {
  const rel = relative(builtinDir, file)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
}

/**
 * The scenarios that would send the sandbox's hotel routes to a target that is not the sandbox:
 * those with no workload of their own, none in the config, and not from the built-in catalogue.
 */
export function scenariosWithoutWorkload(
  scenarios: readonly LoadedScenario[],
  config: { workload?: { requests: WorkloadRequest[] } | undefined },
  builtinDir: string,
): LoadedScenario[] {
  if (config.workload) return []
  return scenarios.filter((s) => !s.scenario.workload && !isBuiltinFile(s.file, builtinDir))
}

/** An example `workload:` block, for hints and docs. */
export const WORKLOAD_EXAMPLE = 'workload: { requests: [{ method: GET, path: /api/orders }] }'

/** The warning shown in a dry-run plan for a scenario the run would refuse. */
export const MISSING_WORKLOAD_WARNING =
  "no workload: against a target other than the built-in sandbox the run refuses it (it would send the sandbox's hotel routes); add workload: with your service's routes"

/**
 * Refuses (exit 2, before anything starts) a run against a target other than the built-in sandbox
 * when any selected scenario would send the sandbox's hotel routes: every such scenario at once,
 * one line each, with the field to add and an example.
 */
export function assertWorkloads(
  scenarios: readonly LoadedScenario[],
  config: { workload?: { requests: WorkloadRequest[] } | undefined; file?: string },
  options: { sandbox: boolean; builtinDir: string; target: string },
): void {
  if (options.sandbox) return
  const missing = scenariosWithoutWorkload(scenarios, config, options.builtinDir)
  if (missing.length === 0) return
  const n = missing.length
  throw new InvalidInputError(
    `${n} scenario${n === 1 ? ' has' : 's have'} no workload for ${options.target}: the run would send the built-in sandbox's hotel routes (/api/availability, /api/bookings, ...) to your service`,
    `add a workload: field to ${n === 1 ? 'the file' : 'each file'} with the requests your service answers, e.g. ${WORKLOAD_EXAMPLE} (docs/scenario-format.md, "workload"), or one workload: for every scenario in ${config.file ? 'the config file' : 'chaos.config.yaml'}`,
    missing.map(
      (s) => `${s.display}:1:1 workload: missing: scenario ${s.scenario.id} names no requests to send`,
    ),
  )
}
