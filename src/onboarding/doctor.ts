/**
 * `chaos doctor`: is this service ready for `chaos run`? One line per check, each with the fix:
 * the target answers, the token is accepted, the agent speaks protocol 1, the scenarios' services
 * are wrapped, nothing is running, the environment, the clocks agree, `/metrics` has what the
 * checks need, and every workload route answers 2xx. The route check is the one the run's
 * preflight also makes (src/engine/route-check.ts), so the two never disagree.
 */
import { request } from 'undici'
import { scrapeMetrics } from '../metrics/scraper.js'
import { findFamily, type Families } from '../metrics/prom-text.js'
import { AgentInfo, normalizeEnvironment, PRODUCTION, PROTOCOL_VERSION } from '../protocol/schemas.js'
import type { MeasureName } from '../scenario/checks.js'
import type { Scenario, WorkloadRequest } from '../scenario/schema.js'
import { PROBE_METRICS } from '../engine/probe.js'
import { checkRoutes, describeRoute, ROUTE_FIX } from '../engine/route-check.js'
import { expandWorkloadDates } from '../engine/workload-dates.js'

/** How one check came out: OK, a WARN that does not stop a run, or a FAIL that would. */
export type DoctorStatus = 'OK' | 'WARN' | 'FAIL'

/** One line of the doctor's answer. */
export interface DoctorCheck {
  /** Stable name of the check: target, token, protocol, services, experiments, environment, clock, metrics, workload, route. */
  id: string
  status: DoctorStatus
  /** What was found, one line. */
  what: string
  /** What to do about it; null when nothing needs doing. */
  fix: string | null
}

/** The doctor's answer for one target instance. */
export interface DoctorInstance {
  target: string
  checks: DoctorCheck[]
}

/** The doctor's whole answer (`chaos doctor --json`). */
export interface DoctorResult {
  /** True when no check failed (warnings allowed). */
  ok: boolean
  failed: number
  warnings: number
  /** The scenarios whose services, metrics and routes were checked (ids). */
  scenarios: string[]
  instances: DoctorInstance[]
}

/** What the doctor looks at. */
export interface DoctorInput {
  targets: readonly string[]
  /** Undefined when none is configured: the token line fails with the fix. */
  token: string | undefined
  /** The agent's control prefix (default `/chaos`). */
  controlPrefix?: string
  /** One metrics URL per target (default `<target>/metrics`). */
  metricsUrls?: readonly string[]
  /** Where the workload goes instead of the targets (`workload_url`). */
  workloadUrl?: string
  /** The scenarios a run would use (their services, checks and workloads are checked). */
  scenarios: readonly Scenario[]
  /** The config file's workload, for scenarios without their own. */
  workload?: readonly WorkloadRequest[]
  /** Wall clock (ms), for the clock-skew check and `{{today}}` in routes. */
  now: () => number
  signal?: AbortSignal
  /** Timeout of each request (default 5 s). */
  timeoutMs?: number
}

/** Clock skew above which the doctor warns (the Date header has whole seconds). */
export const MAX_CLOCK_SKEW_MS = 5000

/** Each check's fix, so that the command, the docs and the tests say the same. */
export const DOCTOR_FIX = {
  target: 'start your service, then check the URL: --target, CHAOS_TARGET or target: in chaos.config.yaml',
  no_endpoint:
    'enable the agent (createChaosAgent({ enabled: true, token, ... })) and mount it before your routes (app.use(agent.express())); if it uses another prefix, set control_prefix in chaos.config.yaml',
  no_token: 'export CHAOS_TOKEN=<the token your service passes to createChaosAgent> (16 characters or more)',
  token_refused:
    'export CHAOS_TOKEN=<the exact token your service passes to createChaosAgent>; the agent answered 401/403 to this one',
  protocol: 'upgrade the agent or the runner so both speak control protocol 1 (docs/control-protocol.md)',
  unwrapped:
    "wrap that dependency in your service (agent.wrap('<name>', fn)) or set the scenario's target_service to a wrapped one",
  running: 'wait for it to end, or stop it: chaos stop --all',
  production: 'runs refuse it unless --allow-production; point chaos at staging first',
  clock: 'sync both clocks (NTP): leases and report times are compared across machines',
  metrics:
    'serve your prom-client registry at /metrics and pass it to the agent (createChaosAgent({ registry })), or set metrics_url',
  workload:
    'add workload: { requests: [{ path: /your/route }] } to the scenario or chaos.config.yaml: routes whose handling calls the wrapped dependency',
} as const

/** The metric each built-in measure needs from the target, beyond the runner's own workload. */
const MEASURE_METRICS: Partial<Record<MeasureName, string>> = {
  circuit_breaker_trips: PROBE_METRICS.breaker_trips,
  collateral_error_rate: PROBE_METRICS.http_requests,
}

/** Runs every check against every target instance. Never throws for what the target does. */
export async function runDoctor(input: DoctorInput): Promise<DoctorResult> {
  const instances: DoctorInstance[] = []
  for (const [i, target] of input.targets.entries()) {
    instances.push({ target, checks: await checkInstance(input, target, i) })
  }
  const all = instances.flatMap((x) => x.checks)
  const failed = all.filter((c) => c.status === 'FAIL').length
  return {
    ok: failed === 0,
    failed,
    warnings: all.filter((c) => c.status === 'WARN').length,
    scenarios: input.scenarios.map((s) => s.id),
    instances,
  }
}

const ok = (id: string, what: string): DoctorCheck => ({ id, status: 'OK', what, fix: null })
const warn = (id: string, what: string, fix: string): DoctorCheck => ({ id, status: 'WARN', what, fix })
const fail = (id: string, what: string, fix: string): DoctorCheck => ({ id, status: 'FAIL', what, fix })

async function checkInstance(input: DoctorInput, rawTarget: string, index: number): Promise<DoctorCheck[]> {
  const target = rawTarget.replace(/\/+$/, '')
  const timeoutMs = input.timeoutMs ?? 5000
  const prefix = input.controlPrefix ?? '/chaos'
  const checks: DoctorCheck[] = []

  // 1. The control endpoint: reachable, token, protocol, services, experiments, environment, clock.
  const sentAt = input.now()
  let answer: { status: number; date: string | undefined; body: string }
  try {
    const signal = input.signal
      ? AbortSignal.any([input.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs)
    const res = await request(target + prefix, {
      method: 'GET',
      headers: input.token ? { authorization: `Bearer ${input.token}` } : {},
      signal,
    })
    const date = res.headers.date
    answer = {
      status: res.statusCode,
      date: Array.isArray(date) ? date[0] : date,
      body: await res.body.text(),
    }
  } catch (err) {
    input.signal?.throwIfAborted()
    checks.push(fail('target', `${target} does not answer: ${(err as Error).message}`, DOCTOR_FIX.target))
    return checks
  }
  const receivedAt = input.now()
  checks.push(ok('target', `${target} answers`))
  if (answer.status === 404) {
    checks.push(
      fail('protocol', `no chaos control endpoint at ${target}${prefix} (404)`, DOCTOR_FIX.no_endpoint),
    )
  } else if (!input.token) {
    checks.push(fail('token', 'no token given', DOCTOR_FIX.no_token))
  } else if (answer.status === 401 || answer.status === 403) {
    checks.push(fail('token', `token refused (GET ${prefix} → ${answer.status})`, DOCTOR_FIX.token_refused))
  } else if (answer.status < 200 || answer.status > 299) {
    checks.push(fail('protocol', `GET ${prefix} answered ${answer.status}`, DOCTOR_FIX.no_endpoint))
  } else {
    checks.push(ok('token', 'token accepted'))
    checks.push(...agentChecks(input, answer.body, prefix))
  }
  checks.push(clockCheck(answer.date, sentAt, receivedAt))

  // 2. /metrics and the metrics the scenarios' checks need.
  checks.push(...(await metricsChecks(input, target, input.metricsUrls?.[index], timeoutMs)))

  // 3. Each workload route once, where the workload goes (the same check as the run's preflight).
  if (input.workloadUrl === undefined || index === 0) {
    checks.push(...(await routeChecks(input, input.workloadUrl ?? target, timeoutMs)))
  }
  return checks
}

function agentChecks(input: DoctorInput, body: string, prefix: string): DoctorCheck[] {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return [fail('protocol', `GET ${prefix} did not answer JSON`, DOCTOR_FIX.no_endpoint)]
  }
  const protocol = (json as { protocol?: unknown } | null)?.protocol
  const parsed = AgentInfo.safeParse(json)
  if (!parsed.success || protocol !== PROTOCOL_VERSION) {
    const seen =
      typeof protocol === 'number' ? `control protocol ${protocol}` : 'no chaos-playbook agent info'
    return [
      fail(
        'protocol',
        `GET ${prefix} answered ${seen}; this runner speaks ${PROTOCOL_VERSION}`,
        DOCTOR_FIX.protocol,
      ),
    ]
  }
  const info = parsed.data
  const checks = [
    ok('protocol', `control protocol ${info.protocol} (service ${info.service}, instance ${info.instance})`),
  ]
  const wrapped = info.services
  const needed = [...new Set(input.scenarios.map((s) => s.target_service))]
  // ENTIRE_SYSTEM may name the host service itself.
  const missing = needed.filter((s) => !wrapped.includes(s) && s !== info.service)
  if (wrapped.length === 0) {
    checks.push(fail('services', 'no dependency is wrapped', DOCTOR_FIX.unwrapped))
  } else if (missing.length > 0) {
    const who = missing.map((m) => {
      const ids = input.scenarios.filter((s) => s.target_service === m).map((s) => s.id)
      return `"${m}" (${ids.join(', ')})`
    })
    checks.push(
      fail(
        'services',
        `not wrapped: ${who.join(', ')}; wrapped: ${wrapped.join(', ')}`,
        DOCTOR_FIX.unwrapped,
      ),
    )
  } else {
    checks.push(ok('services', `wrapped: ${wrapped.join(', ')}`))
  }
  const active = info.active_experiments
  if (active.length > 0) {
    checks.push(
      warn(
        'experiments',
        `experiment ${active.map((e) => e.id).join(', ')} is running now: chaos run refuses to start another`,
        DOCTOR_FIX.running,
      ),
    )
  }
  const environment = normalizeEnvironment(info.environment)
  if (environment === PRODUCTION) {
    checks.push(warn('environment', 'the agent reports environment "production"', DOCTOR_FIX.production))
  } else {
    checks.push(ok('environment', `environment ${environment ?? 'not reported'}`))
  }
  return checks
}

function clockCheck(date: string | undefined, sentAt: number, receivedAt: number): DoctorCheck {
  const theirs = date === undefined ? NaN : Date.parse(date)
  if (Number.isNaN(theirs)) {
    return warn('clock', 'clock skew not measured: the answer has no Date header', DOCTOR_FIX.clock)
  }
  // The Date header is cut to whole seconds: compare with the window [sent - 1 s, received].
  const skew = theirs > receivedAt ? theirs - receivedAt : theirs + 1000 < sentAt ? sentAt - theirs - 1000 : 0
  return skew > MAX_CLOCK_SKEW_MS
    ? warn('clock', `the target's clock is ${Math.round(skew / 1000)} s off this machine's`, DOCTOR_FIX.clock)
    : ok('clock', `clocks agree (within ${MAX_CLOCK_SKEW_MS / 1000} s)`)
}

async function metricsChecks(
  input: DoctorInput,
  target: string,
  metricsUrl: string | undefined,
  timeoutMs: number,
): Promise<DoctorCheck[]> {
  const url = metricsUrl ?? `${target}/metrics`
  let families: Families
  try {
    families = await scrapeMetrics(url, { timeoutMs, signal: input.signal })
  } catch (err) {
    input.signal?.throwIfAborted()
    return [fail('metrics', `${url} cannot be read: ${(err as Error).message}`, DOCTOR_FIX.metrics)]
  }
  const checks: DoctorCheck[] = []
  const faults = PROBE_METRICS.faults_injected
  if (findFamily(families, faults) === undefined) {
    checks.push(fail('metrics', `${url} has no ${faults} (required)`, DOCTOR_FIX.metrics))
  } else {
    checks.push(ok('metrics', `${url} readable, ${faults} present`))
  }
  // Metrics the scenarios' checks need: a `before` check without it refuses the run (preflight),
  // a `during`/`after` one is not evaluated (the run is then INCONCLUSIVE).
  const byMetric = new Map<string, { expressions: string[]; before: boolean }>()
  for (const s of input.scenarios) {
    for (const c of s.checks) {
      if (c.measure.kind !== 'builtin') continue
      const metric = MEASURE_METRICS[c.measure.name]
      if (metric === undefined || findFamily(families, metric) !== undefined) continue
      const entry = byMetric.get(metric) ?? { expressions: [], before: false }
      entry.expressions.push(`"${c.expression}" (${s.id})`)
      entry.before ||= c.phase === 'before'
      byMetric.set(metric, entry)
    }
  }
  for (const [metric, { expressions, before }] of byMetric) {
    const what = `${url} has no ${metric}, which ${expressions.join(', ')} need${expressions.length === 1 ? 's' : ''}`
    const fix = `export ${metric} from your service (docs/control-protocol.md, the metrics contract), or drop the check`
    checks.push(
      before
        ? fail('metrics', `${what}: the run would be refused`, fix)
        : warn('metrics', `${what}: not evaluated`, fix),
    )
  }
  return checks
}

async function routeChecks(input: DoctorInput, where: string, timeoutMs: number): Promise<DoctorCheck[]> {
  const requests = [
    ...input.scenarios.flatMap((s) => s.workload?.requests ?? input.workload ?? []),
    ...(input.scenarios.length === 0 ? (input.workload ?? []) : []),
  ]
  if (requests.length === 0) {
    return [
      warn(
        'workload',
        'no workload configured: chaos run would send the sandbox hotel routes to your service',
        DOCTOR_FIX.workload,
      ),
    ]
  }
  const results = await checkRoutes({
    target: where,
    requests: expandWorkloadDates(requests, input.now()),
    timeoutMs,
    signal: input.signal,
  })
  return results.map((r) =>
    r.ok
      ? ok('route', `${describeRoute(r)} (${r.latency_ms} ms)`)
      : fail('route', describeRoute(r), ROUTE_FIX),
  )
}
