/**
 * `chaos agent check`: a conformance suite for control protocol v1 (docs/control-protocol.md). It
 * drives any agent, whatever its language, through every documented case over real HTTP and says
 * per case what was seen against what the protocol promises. It injects faults only into its own
 * tagged probe requests (SINGLE_REQUEST, LATENCY 1 ms) and stops everything it started.
 */
import { sleep, systemClock, type Clock } from '../clock.js'
import { InvalidInputError, RuntimeFailure, SafetyError } from '../errors.js'
import { FetchFailure, getText } from '../metrics/http-get.js'
import {
  counterSeries,
  findFamily,
  gaugeValues,
  parsePrometheusText,
  PromTextParseError,
  type Families,
} from '../metrics/prom-text.js'
import {
  AgentInfo,
  EXPERIMENT_HEADER,
  ExperimentView,
  FAULTS_HEADER,
  PROTOCOL_VERSION,
} from '../protocol/schemas.js'
import { SIGNATURE_HEADER, tagHeaders } from '../protocol/tag.js'
import { expandDates } from '../engine/workload-dates.js'
import { NoAnswerError, send, type RawReply } from './http.js'

/** The sandbox's availability route (through its `pms_adapter`), with date placeholders. */
export const DEFAULT_PROBE_PATH = '/api/availability?check_in={{today+3}}&check_out={{today+5}}'
/** The control prefix of control protocol v1 unless the agent was configured otherwise. */
export const DEFAULT_CONTROL_PREFIX = '/chaos'
/** Lease of the lease-expiry case: short, so the case costs about this long. */
export const EXPIRY_LEASE_SECONDS = 1
/** Lease of every other experiment the suite starts (each is stopped long before). */
const CASE_LEASE_SECONDS = 15
/** Tagged probe requests sent at most while waiting for a fault to be injected. */
const MAX_PROBES = 10
/** Probe requests sent after a rollback to see that no fault follows. */
const SETTLE_PROBES = 5
/** The protocol's body limit: larger bodies must be refused with 413. */
const BODY_LIMIT_BYTES = 64 * 1024

/** The cases, in the order they run. */
export const CASES = {
  auth: 'auth: no token and a wrong token get 401 with WWW-Authenticate',
  info: `GET /chaos: agent info, protocol ${PROTOCOL_VERSION}`,
  invalid_body: 'POST an invalid body: 400 with problems, nothing started',
  unknown_experiment: 'unknown experiment: 404 on GET, PUT lease and DELETE',
  start: 'start: 201 with the posted id, GET shows it RUNNING',
  conflict: 'a second experiment while one runs: 409',
  too_large: 'a body over 64 KiB: 413',
  lease_renewal: 'lease renewal extends lease_expires_at, never shortens it',
  lease_expiry: 'lease expiry: the experiment ends EXPIRED (lease_expired), nothing active',
  gone: 'an ended experiment: 410 on PUT lease and DELETE',
  rollback: 'DELETE rolls back: COMPLETED, nothing active, no fault after',
  emergency_stop: 'emergency stop: DELETE /experiments stops everything',
  single_request: 'SINGLE_REQUEST: only requests tagged x-chaos-experiment and signed meet faults',
  metrics: 'metrics contract: chaos_agent_faults_injected_total{experiment} rises with faults',
} as const

export type CaseId = keyof typeof CASES

/** One case's outcome. */
export interface CaseResult {
  id: CaseId
  name: string
  passed: boolean
  /** What was seen against what was expected, when the case failed. */
  detail: string | null
  /** Remarks that do not fail the case (e.g. an optional metric the agent does not export). */
  notes: string[]
  duration_ms: number
}

/** The whole check, as `chaos agent check --json` prints it. */
export interface AgentCheckResult {
  target: string
  control_url: string
  metrics_url: string
  probe_url: string
  probe_service: string | null
  agent: { service: string; instance: string; protocol: number } | null
  cases: CaseResult[]
  passed: number
  failed: number
  ok: boolean
}

export interface AgentCheckOptions {
  /** Base URL of the service embedding the agent. */
  target: string
  token: string
  /** Control prefix (default /chaos). */
  prefix?: string
  /** Metrics URL (default `${target}/metrics`). */
  metricsUrl?: string
  /** Path of a target route whose handling calls `probeService` (date placeholders allowed). */
  probePath?: string
  /** Wrapped service the probe route calls (default pms_adapter if wrapped, else the first). */
  probeService?: string
  /**
   * Full URL to probe instead of `target` + `probePath` (date placeholders allowed): for an agent
   * whose traffic does not pass through its control host, e.g. a `chaos proxy` route.
   */
  probeUrl?: string
  /** Only these cases (default all). */
  only?: readonly CaseId[]
}

export interface AgentCheckDeps {
  clock?: Clock
  signal?: AbortSignal
  /** Called as each case ends (for live output). */
  onCase?: (result: CaseResult) => void
}

/** A case's verdict: thrown inside a case to fail it with what was seen. */
class CaseFailure extends Error {}

function fail(detail: string): never {
  throw new CaseFailure(detail)
}

function check(condition: boolean, detail: () => string): asserts condition {
  if (!condition) fail(detail())
}

/** What a case can do: talk to the agent, probe the service, scrape metrics, remember things. */
interface Context {
  readonly token: string
  /** The control prefix, for messages. */
  readonly prefix: string
  /** A fresh lower-case experiment id, unique to this check run. */
  id(label: string): string
  /** A control request; `path` is relative to the prefix (`''`, `/experiments`, ...). */
  control(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<RawReply>
  /** GET of the probe route, tagged with `tag` (and signed with the token) when given. */
  probe(tag: string | null): Promise<RawReply>
  /** GET of the probe route with exactly these extra headers (a forged or unsigned tag). */
  probeWith(headers: Record<string, string>): Promise<RawReply>
  scrape(): Promise<Families>
  /** The wrapped service the suite targets (null when GET /chaos lists none). */
  service(): Promise<string>
  poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T>
  /** Ids of experiments ended by lease expiry (for the 410 case). */
  expired: string[]
  metricsUrl: string
  probePath: string
}

/** Experiment body of the suite: 1 ms of latency on tagged requests only, never on real traffic. */
function experimentBody(id: string, service: string, leaseSeconds = CASE_LEASE_SECONDS) {
  return {
    id,
    target_service: service,
    fault_config: {
      fault_type: 'LATENCY',
      probability: 1,
      latency_ms: 1,
      blast_radius: 'SINGLE_REQUEST',
    },
    lease_seconds: leaseSeconds,
  }
}

function describe(reply: RawReply): string {
  const error = errorOf(reply)
  return `HTTP ${reply.status}${error ? ` (${error})` : ''}`
}

function errorOf(reply: RawReply): string | undefined {
  const body = reply.json as { error?: unknown } | undefined
  return typeof body?.error === 'string' ? body.error : undefined
}

/** Parses `{experiment: view}`; fails the case naming the first schema problem. */
function viewOf(reply: RawReply, what: string): ExperimentView & { end_reason?: string } {
  const envelope = reply.json as { experiment?: unknown } | undefined
  const parsed = ExperimentView.safeParse(envelope?.experiment)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    fail(
      `${what}: expected {"experiment": <experiment view>}, got ${clip(reply.text)}` +
        (issue ? ` (experiment.${issue.path.join('.')}: ${issue.message})` : ''),
    )
  }
  const endReason = (envelope!.experiment as { end_reason?: unknown }).end_reason
  return { ...parsed.data, ...(typeof endReason === 'string' && { end_reason: endReason }) }
}

function expectStatus(reply: RawReply, status: number, what: string): void {
  check(reply.status === status, () => `${what}: expected HTTP ${status}, got ${describe(reply)}`)
}

function clip(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty body)'
}

async function activeIds(ctx: Context): Promise<string[]> {
  const reply = await ctx.control('GET', '')
  expectStatus(reply, 200, 'GET /chaos')
  const info = reply.json as { active_experiments?: { id?: unknown }[] } | undefined
  check(Array.isArray(info?.active_experiments), () => 'GET /chaos: no active_experiments array')
  return info.active_experiments.map((e) => String(e.id))
}

async function startExperiment(ctx: Context, id: string, leaseSeconds?: number) {
  const reply = await ctx.control('POST', '/experiments', {
    body: experimentBody(id, await ctx.service(), leaseSeconds),
  })
  expectStatus(reply, 201, `POST /experiments (${id})`)
  return viewOf(reply, `POST /experiments (${id})`)
}

async function getView(ctx: Context, id: string) {
  const reply = await ctx.control('GET', `/experiments/${id}`)
  expectStatus(reply, 200, `GET /experiments/${id}`)
  return viewOf(reply, `GET /experiments/${id}`)
}

/** Sends tagged probes until the experiment counts a fault; returns its faults_injected then. */
async function injectThroughProbe(ctx: Context, id: string, replies: RawReply[] = []): Promise<number> {
  let last: RawReply | undefined
  for (let i = 0; i < MAX_PROBES; i++) {
    last = await ctx.probe(id)
    replies.push(last)
    const view = await getView(ctx, id)
    if (view.faults_injected > 0) return view.faults_injected
  }
  return fail(
    `no fault injected into ${MAX_PROBES} requests tagged ${EXPERIMENT_HEADER}: ${id} to ${ctx.probePath} ` +
      `(last answer HTTP ${last?.status}): expected faults_injected > 0 — is the route served through ` +
      `${await ctx.service()} and the host calling runWithRequest? (--probe-path, --probe-service)`,
  )
}

/**
 * What the optional `x-chaos-faults` header of the tagged probe answers says: a note either way (an
 * agent need not send it: the runner then reports affected requests as not measured), a failure
 * only when a value is not a non-negative integer (the runner would misread it).
 */
function faultsHeaderNote(tagged: readonly RawReply[]): string {
  const values = tagged.map((r) => r.headers[FAULTS_HEADER]).filter((v) => v !== undefined)
  const bad = values.find((v) => !/^\d+$/.test(v.trim()))
  check(
    bad === undefined,
    () =>
      `${FAULTS_HEADER}: ${JSON.stringify(bad)} on a tagged response: expected a non-negative integer (the faults the request met), or no header`,
  )
  if (values.length === 0)
    return `optional ${FAULTS_HEADER} response header not sent on tagged requests: reports will show affected requests as not measured`
  const counts = values.map((v) => Number(v.trim()))
  return `tags responses with ${FAULTS_HEADER} (${values.length} of ${tagged.length} tagged responses, values ${Math.min(...counts)}..${Math.max(...counts)}): affected requests are measured`
}

/** Sum of chaos_agent_faults_injected_total for one experiment, or undefined when it has no series. */
function faultsMetric(families: Families, id: string): number | undefined {
  const series = counterSeries(families, 'chaos_agent_faults_injected_total', { experiment: id })
  return series.length === 0 ? undefined : series.reduce((sum, s) => sum + s.value, 0)
}

type CaseFn = (ctx: Context) => Promise<string[] | void>

const CASE_FNS: Record<CaseId, CaseFn> = {
  async auth(ctx) {
    for (const [label, token] of [
      ['no token', null],
      ['a wrong token', `${ctx.token}-wrong`],
    ] as const) {
      for (const [method, path, body] of [
        ['GET', '', undefined],
        ['POST', '/experiments', experimentBody(ctx.id('auth'), await ctx.service())],
        ['DELETE', '/experiments', undefined],
      ] as const) {
        const reply = await ctx.control(method, path, { token, body })
        const what = `${method} ${ctx.prefix}${path || ''} with ${label}`
        expectStatus(reply, 401, what)
        const challenge = reply.headers['www-authenticate'] ?? ''
        check(/^Bearer\b/i.test(challenge), () =>
          challenge === ''
            ? `${what}: expected a WWW-Authenticate: Bearer header, got none`
            : `${what}: expected WWW-Authenticate: Bearer ..., got "${challenge}"`,
        )
      }
    }
    // A refused POST must not have started anything.
    const active = await activeIds(ctx)
    check(active.length === 0, () => `unauthenticated POST started ${active.join(', ')}`)
  },

  async info(ctx) {
    const reply = await ctx.control('GET', '')
    expectStatus(reply, 200, 'GET /chaos')
    const parsed = AgentInfo.safeParse(reply.json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      fail(`GET /chaos: ${issue.path.join('.') || '(body)'}: ${issue.message} in ${clip(reply.text)}`)
    }
    const info = parsed.data
    check(
      info.protocol === PROTOCOL_VERSION,
      () => `GET /chaos: expected "protocol": ${PROTOCOL_VERSION}, got ${info.protocol}`,
    )
    check(info.services.length > 0, () => 'GET /chaos: expected at least one wrapped service, got none')
    return [`${info.service} (${info.instance}), services: ${info.services.join(', ')}`]
  },

  async invalid_body(ctx) {
    const invalid = await ctx.control('POST', '/experiments', {
      body: {
        id: 'Not A Valid Id',
        target_service: await ctx.service(),
        fault_config: { fault_type: 'LATENCY', probability: 2, latency_ms: 1 },
      },
    })
    expectStatus(invalid, 400, 'POST an invalid experiment')
    const problems = (invalid.json as { problems?: unknown } | undefined)?.problems
    check(
      typeof errorOf(invalid) === 'string' &&
        Array.isArray(problems) &&
        problems.length > 0 &&
        problems.every((p) => typeof p === 'string'),
      () => `POST an invalid experiment: expected {"error", "problems": [...]}, got ${clip(invalid.text)}`,
    )
    const notJson = await ctx.control('POST', '/experiments', { body: '{"id": ' })
    expectStatus(notJson, 400, 'POST a body that is not JSON')
    const unknownService = await ctx.control('POST', '/experiments', {
      body: experimentBody(ctx.id('unknown-service'), 'no_such_service_here'),
    })
    expectStatus(unknownService, 400, 'POST with a target_service that is not wrapped')
    const active = await activeIds(ctx)
    check(active.length === 0, () => `an invalid POST started ${active.join(', ')}`)
  },

  async unknown_experiment(ctx) {
    const id = ctx.id('never-started')
    expectStatus(await ctx.control('GET', `/experiments/${id}`), 404, `GET /experiments/${id}`)
    expectStatus(
      await ctx.control('PUT', `/experiments/${id}/lease`, { body: { lease_seconds: 10 } }),
      404,
      `PUT /experiments/${id}/lease`,
    )
    expectStatus(await ctx.control('DELETE', `/experiments/${id}`), 404, `DELETE /experiments/${id}`)
  },

  async start(ctx) {
    const id = ctx.id('start')
    const reply = await ctx.control('POST', '/experiments', {
      body: experimentBody(id, await ctx.service()),
    })
    expectStatus(reply, 201, 'POST /experiments')
    const view = viewOf(reply, 'POST /experiments')
    check(view.id === id, () => `POST /experiments: expected id "${id}" (the posted id), got "${view.id}"`)
    check(view.state === 'RUNNING', () => `POST /experiments: expected state RUNNING, got ${view.state}`)
    check(view.ended_at == null, () => `POST /experiments: expected ended_at null, got ${view.ended_at}`)
    const lease = Date.parse(view.lease_expires_at) - Date.parse(view.started_at)
    check(
      Math.abs(lease - CASE_LEASE_SECONDS * 1000) <= 1000,
      () =>
        `POST /experiments: expected lease_expires_at = started_at + ${CASE_LEASE_SECONDS} s, got ${view.started_at} → ${view.lease_expires_at}`,
    )
    const location = reply.headers.location ?? ''
    check(
      location.endsWith(`/experiments/${id}`),
      () => `POST /experiments: expected Location: …/experiments/${id}, got "${location}"`,
    )
    const read = await getView(ctx, id)
    check(read.state === 'RUNNING', () => `GET /experiments/${id}: expected RUNNING, got ${read.state}`)
    const active = await activeIds(ctx)
    check(
      active.length === 1 && active[0] === id,
      () => `GET /chaos: expected active_experiments [${id}], got [${active.join(', ')}]`,
    )
  },

  async conflict(ctx) {
    const first = ctx.id('conflict-a')
    const second = ctx.id('conflict-b')
    await startExperiment(ctx, first)
    const reply = await ctx.control('POST', '/experiments', {
      body: experimentBody(second, await ctx.service()),
    })
    expectStatus(reply, 409, 'POST a second experiment while one runs')
    expectStatus(await ctx.control('GET', `/experiments/${second}`), 404, `GET the refused ${second}`)
  },

  async too_large(ctx) {
    const body = JSON.stringify({
      ...experimentBody(ctx.id('too-large'), await ctx.service()),
      padding: 'x'.repeat(BODY_LIMIT_BYTES),
    })
    let reply: RawReply
    try {
      reply = await ctx.control('POST', '/experiments', { body })
    } catch (err) {
      // Closing the connection while the client still sends is allowed only after answering 413.
      if (err instanceof NoAnswerError) fail(`POST ${body.length} bytes: expected HTTP 413, got no answer`)
      throw err
    }
    expectStatus(reply, 413, `POST ${body.length} bytes`)
    const active = await activeIds(ctx)
    check(active.length === 0, () => `an oversized POST started ${active.join(', ')}`)
  },

  async lease_renewal(ctx) {
    const id = ctx.id('renew')
    const started = await startExperiment(ctx, id)
    const renewed = await ctx.control('PUT', `/experiments/${id}/lease`, { body: { lease_seconds: 60 } })
    expectStatus(renewed, 200, `PUT /experiments/${id}/lease {"lease_seconds": 60}`)
    const longer = viewOf(renewed, 'PUT …/lease')
    check(
      Date.parse(longer.lease_expires_at) > Date.parse(started.lease_expires_at),
      () =>
        `PUT …/lease 60 s: expected lease_expires_at later than ${started.lease_expires_at}, got ${longer.lease_expires_at}`,
    )
    const shorter = await ctx.control('PUT', `/experiments/${id}/lease`, { body: { lease_seconds: 1 } })
    expectStatus(shorter, 200, 'PUT …/lease {"lease_seconds": 1}')
    const kept = viewOf(shorter, 'PUT …/lease')
    check(
      Date.parse(kept.lease_expires_at) >= Date.parse(longer.lease_expires_at),
      () =>
        `PUT …/lease 1 s: a renewal never shortens a lease: expected ≥ ${longer.lease_expires_at}, got ${kept.lease_expires_at}`,
    )
    expectStatus(
      await ctx.control('PUT', `/experiments/${id}/lease`, { body: { lease_seconds: -5 } }),
      400,
      'PUT …/lease {"lease_seconds": -5}',
    )
  },

  async lease_expiry(ctx) {
    const id = ctx.id('expiry')
    await startExperiment(ctx, id, EXPIRY_LEASE_SECONDS)
    const ended = await ctx.poll(
      async () => {
        const view = await getView(ctx, id)
        return view.state === 'RUNNING' ? undefined : view
      },
      `${id} to end by itself after its ${EXPIRY_LEASE_SECONDS} s lease (no renewal)`,
      EXPIRY_LEASE_SECONDS * 1000 + 3000,
    )
    check(ended.state === 'EXPIRED', () => `expected state EXPIRED, got ${ended.state}`)
    check(
      ended.end_reason === 'lease_expired',
      () => `expected end_reason "lease_expired", got ${JSON.stringify(ended.end_reason)}`,
    )
    check(typeof ended.ended_at === 'string', () => `expected ended_at set, got ${String(ended.ended_at)}`)
    const active = await activeIds(ctx)
    check(!active.includes(id), () => `GET /chaos still lists the expired ${id} as active`)
    ctx.expired.push(id)
  },

  async gone(ctx) {
    const id = ctx.expired[0]
    if (id === undefined) fail('no ended experiment to ask about: the lease expiry case did not end one')
    const renew = await ctx.control('PUT', `/experiments/${id}/lease`, { body: { lease_seconds: 10 } })
    expectStatus(renew, 410, `PUT /experiments/${id}/lease (expired)`)
    const stop = await ctx.control('DELETE', `/experiments/${id}`)
    expectStatus(stop, 410, `DELETE /experiments/${id} (expired)`)
    const final = viewOf(stop, `DELETE /experiments/${id} (410)`)
    check(final.state === 'EXPIRED', () => `410 answer: expected the final state EXPIRED, got ${final.state}`)
  },

  async rollback(ctx) {
    const id = ctx.id('rollback')
    await startExperiment(ctx, id)
    const before = await injectThroughProbe(ctx, id)
    const reply = await ctx.control('DELETE', `/experiments/${id}`)
    expectStatus(reply, 200, `DELETE /experiments/${id}`)
    const stopped = viewOf(reply, `DELETE /experiments/${id}`)
    check(stopped.state === 'COMPLETED', () => `DELETE: expected state COMPLETED, got ${stopped.state}`)
    check(
      stopped.end_reason === 'stopped',
      () => `DELETE: expected end_reason "stopped", got ${JSON.stringify(stopped.end_reason)}`,
    )
    const active = await activeIds(ctx)
    check(!active.includes(id), () => `GET /chaos after DELETE: ${id} still active`)
    // The read-back is not enough: an agent may say "stopped" and keep injecting (issue 9, item 1).
    const scrapedBefore = await ctx.scrape().then(
      (f) => faultsMetric(f, id),
      () => undefined,
    )
    for (let i = 0; i < SETTLE_PROBES; i++) await ctx.probe(id)
    const after = await getView(ctx, id)
    check(
      after.state === 'COMPLETED',
      () => `GET /experiments/${id} after DELETE: expected COMPLETED, got ${after.state}`,
    )
    check(
      after.faults_injected === stopped.faults_injected && stopped.faults_injected >= before,
      () =>
        `faults still injected after DELETE: faults_injected ${stopped.faults_injected} at DELETE, ` +
        `${after.faults_injected} after ${SETTLE_PROBES} more tagged requests (expected no change)`,
    )
    const scrapedAfter = await ctx.scrape().then(
      (f) => faultsMetric(f, id),
      () => undefined,
    )
    check(
      scrapedBefore === undefined || scrapedAfter === undefined || scrapedAfter === scrapedBefore,
      () =>
        `faults still injected after DELETE: chaos_agent_faults_injected_total{experiment="${id}"} ` +
        `${scrapedBefore} → ${scrapedAfter} during ${SETTLE_PROBES} tagged requests (expected no change)`,
    )
  },

  async emergency_stop(ctx) {
    const id = ctx.id('stop-all')
    await startExperiment(ctx, id)
    const reply = await ctx.control('DELETE', '/experiments')
    expectStatus(reply, 200, 'DELETE /experiments')
    const stopped = (reply.json as { stopped?: unknown } | undefined)?.stopped
    check(
      Array.isArray(stopped),
      () => `DELETE /experiments: expected {"stopped": [...]}, got ${clip(reply.text)}`,
    )
    const views = (stopped as unknown[]).map((v) =>
      viewOf({ ...reply, json: { experiment: v } }, 'DELETE /experiments'),
    )
    const mine = views.find((v) => v.id === id)
    check(
      mine !== undefined,
      () => `DELETE /experiments: expected ${id} in "stopped", got [${views.map((v) => v.id).join(', ')}]`,
    )
    check(
      mine.state === 'COMPLETED' && mine.end_reason === 'emergency_stop',
      () =>
        `DELETE /experiments: expected ${id} COMPLETED (emergency_stop), got ${mine.state} (${mine.end_reason})`,
    )
    const active = await activeIds(ctx)
    check(
      active.length === 0,
      () => `GET /chaos after the emergency stop: still active [${active.join(', ')}]`,
    )
    const again = await ctx.control('DELETE', '/experiments')
    expectStatus(again, 200, 'DELETE /experiments with nothing running')
    const none = (again.json as { stopped?: unknown } | undefined)?.stopped
    check(
      Array.isArray(none) && none.length === 0,
      () => `DELETE /experiments with nothing running: expected {"stopped": []}, got ${clip(again.text)}`,
    )
  },

  async single_request(ctx) {
    const id = ctx.id('single')
    await startExperiment(ctx, id)
    for (let i = 0; i < SETTLE_PROBES; i++) await ctx.probe(null)
    const untagged = await getView(ctx, id)
    check(
      untagged.faults_injected === 0 && untagged.calls_seen === 0,
      () =>
        `after ${SETTLE_PROBES} untagged requests: expected calls_seen 0 and faults_injected 0, got ` +
        `${untagged.calls_seen} and ${untagged.faults_injected}`,
    )
    for (let i = 0; i < SETTLE_PROBES; i++) await ctx.probe(ctx.id('other-tag'))
    const otherTag = await getView(ctx, id)
    check(
      otherTag.faults_injected === 0,
      () => `requests tagged with another id met ${otherTag.faults_injected} fault(s), expected 0`,
    )
    // The id is public (a /metrics label): a tag without the token's signature must count as none.
    const forged: RawReply[] = []
    const wrongKey = tagHeaders(`${ctx.token}-not-the-token`, id)
    for (let i = 0; i < SETTLE_PROBES; i++) {
      forged.push(await ctx.probeWith({ [EXPERIMENT_HEADER]: id }))
      forged.push(await ctx.probeWith(wrongKey))
    }
    const unsigned = await getView(ctx, id)
    check(
      unsigned.faults_injected === 0 && unsigned.calls_seen === 0,
      () =>
        `requests tagged ${EXPERIMENT_HEADER}: ${id} without a valid ${SIGNATURE_HEADER} were in the blast radius ` +
        `(calls_seen ${unsigned.calls_seen}, faults_injected ${unsigned.faults_injected}): expected 0 and 0 — ` +
        `anyone who reads the id on /metrics could opt into the fault`,
    )
    const replies: RawReply[] = []
    const faults = await injectThroughProbe(ctx, id, replies)
    const tagged = await getView(ctx, id)
    check(
      tagged.calls_seen >= faults,
      () => `calls_seen ${tagged.calls_seen} < faults_injected ${faults}: a fault acts on a call it saw`,
    )
    const note = faultsHeaderNote(replies)
    const leaked = forged.find((r) => r.headers[FAULTS_HEADER] !== undefined)
    check(
      leaked === undefined,
      () =>
        `${FAULTS_HEADER}: ${leaked?.headers[FAULTS_HEADER]} on a request whose tag was not signed: expected no header`,
    )
    return [note]
  },

  async metrics(ctx) {
    const id = ctx.id('metrics')
    const notes: string[] = []
    const first = await ctx.scrape()
    await startExperiment(ctx, id)
    const before = faultsMetric(first, id) ?? 0
    const injected = await injectThroughProbe(ctx, id)
    const families = await ctx.scrape()
    const family = findFamily(families, 'chaos_agent_faults_injected_total')
    check(
      family !== undefined,
      () =>
        `${ctx.metricsUrl} does not export chaos_agent_faults_injected_total (required) after ${injected} fault(s) were injected`,
    )
    check(
      family.type === 'counter' || family.type === 'untyped',
      () => `chaos_agent_faults_injected_total: expected a counter, declared ${family.type}`,
    )
    const after = faultsMetric(families, id)
    check(
      after !== undefined,
      () =>
        `${ctx.metricsUrl}: no chaos_agent_faults_injected_total series with experiment="${id}" after ${injected} fault(s) (the experiment label is required)`,
    )
    check(
      after > before,
      () =>
        `chaos_agent_faults_injected_total{experiment="${id}"} stayed at ${after} while ${injected} fault(s) were injected`,
    )
    const trips = findFamily(families, 'circuit_breaker_trips_total')
    if (trips === undefined) {
      notes.push(
        'optional circuit_breaker_trips_total not exported: circuit_breaker_trips checks will be not evaluated',
      )
    }
    const state = gaugeValues(families, 'circuit_breaker_state')
    if (state.length === 0) {
      notes.push('optional circuit_breaker_state{target_service} not exported: no breaker state in reports')
    } else if (state.some((s) => s.labels.target_service === undefined || ![0, 1, 2].includes(s.value))) {
      notes.push('circuit_breaker_state: expected a gauge per target_service with value 0, 1 or 2')
    }
    return notes
  },
}

/**
 * Runs the suite against one agent. Throws {@link RuntimeFailure} when the control endpoint does not
 * answer at all, {@link SafetyError} when an experiment is already running there (the suite would
 * stop it), {@link InvalidInputError} when it refuses the token. Every case runs; each cleans up with
 * the emergency stop.
 */
export async function runAgentCheck(
  options: AgentCheckOptions,
  deps: AgentCheckDeps = {},
): Promise<AgentCheckResult> {
  const clock = deps.clock ?? systemClock
  const target = options.target.replace(/\/+$/, '')
  const prefix = (options.prefix ?? DEFAULT_CONTROL_PREFIX).replace(/\/+$/, '')
  const controlUrl = target + prefix
  const metricsUrl = options.metricsUrl ?? `${target}/metrics`
  const probePath = expandDates(options.probePath ?? DEFAULT_PROBE_PATH, clock.now())
  const probeUrl =
    options.probeUrl !== undefined
      ? expandDates(options.probeUrl, clock.now())
      : target + (probePath.startsWith('/') ? probePath : `/${probePath}`)
  // Unique per check run, so a rerun never meets its own history (ended ids stay readable).
  const run = `${clock.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`
  let counter = 0
  const signal = deps.signal

  const control: Context['control'] = (method, path, opts = {}) =>
    send({
      method,
      url: controlUrl + path,
      token: opts.token === undefined ? options.token : opts.token,
      body: opts.body,
      headers: opts.headers,
      signal,
    })

  let info: AgentInfo | null = null
  let service: string | null = options.probeService ?? null
  const ctx: Context = {
    token: options.token,
    prefix,
    metricsUrl,
    probePath,
    expired: [],
    id: (label) => `chaos-check.${run}.${++counter}.${label}`,
    control,
    probe: (tag) =>
      send({
        method: 'GET',
        url: probeUrl,
        token: null,
        // Signed with the token, as the runner signs its workload: an unsigned tag is no tag.
        headers: tag === null ? {} : tagHeaders(options.token, tag),
        signal,
      }),
    probeWith: (headers) => send({ method: 'GET', url: probeUrl, token: null, headers, signal }),
    async scrape() {
      let text: string
      try {
        text = (await getText(metricsUrl, { timeoutMs: 3000, clock, signal })).text
      } catch (err) {
        if (err instanceof FetchFailure) {
          fail(`${err.message}: a /metrics endpoint is required (--metrics-url if it is served elsewhere)`)
        }
        throw err
      }
      try {
        return parsePrometheusText(text)
      } catch (err) {
        if (err instanceof PromTextParseError) fail(`${metricsUrl}: not Prometheus text: ${err.message}`)
        throw err
      }
    },
    service() {
      if (service !== null) return Promise.resolve(service)
      const wrapped = info?.services ?? []
      if (wrapped.length === 0) fail('GET /chaos lists no wrapped service to experiment on')
      service = wrapped.includes('pms_adapter') ? 'pms_adapter' : wrapped[0]!
      return Promise.resolve(service)
    },
    async poll(probe, what, timeoutMs) {
      const deadline = clock.monotonic() + timeoutMs
      for (;;) {
        const value = await probe()
        if (value !== undefined) return value
        if (clock.monotonic() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
        await sleep(100, signal, clock)
      }
    },
  }

  let first: RawReply
  try {
    first = await control('GET', '')
  } catch (err) {
    if (err instanceof NoAnswerError) {
      throw new RuntimeFailure(
        `${controlUrl} unreachable: ${err.reason}`,
        'is the service running, and is --target its base URL (and --control-prefix its prefix)?',
      )
    }
    throw err
  }
  if (first.status === 401) {
    // Every case would fail the same way; the token is what is wrong, not the agent (most likely).
    throw new InvalidInputError(
      `${controlUrl} refused the token (HTTP 401)`,
      'pass the token the agent was created with: --token or CHAOS_TOKEN',
    )
  }
  if (first.status === 200) {
    const parsed = AgentInfo.safeParse(first.json)
    if (parsed.success) {
      info = parsed.data
      if (info.active_experiments.length > 0) {
        throw new SafetyError(
          `${controlUrl} is running ${info.active_experiments.map((e) => e.id).join(', ')}: the check would stop it`,
          'run chaos agent check against an instance with no experiment running (chaos status shows them)',
        )
      }
    }
  }

  const results: CaseResult[] = []
  const ids = (Object.keys(CASES) as CaseId[]).filter((id) => !options.only || options.only.includes(id))
  for (const id of ids) {
    const started = clock.monotonic()
    let detail: string | null = null
    let notes: string[] = []
    try {
      notes = (await CASE_FNS[id](ctx)) ?? []
    } catch (err) {
      if (signal?.aborted) throw err
      detail = err instanceof CaseFailure || err instanceof NoAnswerError ? err.message : String(err)
    } finally {
      // Every case leaves the agent as it found it, even when the agent ignored a DELETE.
      // Not tied to the signal: an interrupted check must still clean up.
      await send({ method: 'DELETE', url: `${controlUrl}/experiments`, token: options.token }).catch(
        () => undefined,
      )
    }
    const result: CaseResult = {
      id,
      name: CASES[id],
      passed: detail === null,
      detail,
      notes,
      duration_ms: Math.round(clock.monotonic() - started),
    }
    results.push(result)
    deps.onCase?.(result)
  }
  const failed = results.filter((r) => !r.passed).length
  return {
    target,
    control_url: controlUrl,
    metrics_url: metricsUrl,
    probe_url: probeUrl,
    probe_service: service,
    agent: info && { service: info.service, instance: info.instance, protocol: info.protocol },
    cases: results,
    passed: results.length - failed,
    failed,
    ok: failed === 0,
  }
}
