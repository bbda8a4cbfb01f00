/**
 * `npm run proof [-- --count N] [--only WORD]`: the safety promises repeated with real processes (the compiled
 * CLI, `node bin/run.js`; build first), printed as one table — case, tried, as promised — and exit 1
 * if any case broke its promise. Each iteration is independent: its own temporary directory, its own
 * `chaos sandbox` on port 0, waits on a state (never a fixed time), and every child is stopped.
 * Cases run one after another: on a shared machine, timing promises must not race each other.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  assertBuilt,
  BIN,
  chaos,
  ENV,
  ROOT,
  runChaos,
  startExternalSandbox,
  stopStragglers,
  tempCwd,
  type ExternalSandbox,
} from '../test/support/cli.js'
import { pollUntil } from '../test/support/poll.js'
import { validScenarioText } from '../test/support/scenario-text.js'

const REPORTS = join('.playbook', 'chaos_reports')
const fixture = (name: string) => join(ROOT, 'test', 'fixtures', 'run', `${name}.yaml`)
/** Long enough that every interruption lands mid-injection; short timings everywhere else. */
const LONG_RUN = ['--baseline', '1s', '--duration', '30s', '--interval', '500ms', '--pause', '0s']
const LEASE_S = 3
const TOKEN = 'proof-token-0123456789'

/** One iteration's verdict: `undefined` when the promise held, else what broke it. */
type Outcome = string | undefined

interface Case {
  name: string
  /** How many tries one unit of `--count` makes (the fuzz case sends many requests per unit). */
  tries: (count: number) => number
  /** Runs `tries` tries and returns one outcome per try. */
  run: (tries: number) => Promise<Outcome[]>
  /** Set when the case cannot run here: printed instead of a result. */
  skipped?: string
  /** The timed quantity of the promise (ms), one per try that measured it: its worst is printed. */
  measured?: number[]
}

interface Row {
  name: string
  tried: number
  held: number
  failures: string[]
  ms: number
  worstMs?: number
  skipped?: string
}

/** A fresh directory and sandbox for one try, both gone afterwards whatever happens. */
async function withSandbox<T>(body: (cwd: string, sandbox: ExternalSandbox) => Promise<T>): Promise<T> {
  const { dir, cleanup } = await tempCwd()
  let sandbox: ExternalSandbox | undefined
  try {
    sandbox = await startExternalSandbox(dir, TOKEN)
    return await body(dir, sandbox)
  } finally {
    await stopStragglers(5_000)
    if (sandbox && sandbox.cli.child.exitCode === null) await sandbox.kill()
    await cleanup()
  }
}

interface AgentView {
  active_experiments: Array<{ id: string }>
}

async function agentInfo(sandbox: ExternalSandbox): Promise<AgentView> {
  const response = await fetch(`${sandbox.url}/chaos`, {
    headers: { authorization: `Bearer ${sandbox.token}` },
  })
  if (response.status !== 200) throw new Error(`GET /chaos answered ${response.status}`)
  return (await response.json()) as AgentView
}

async function experimentsSeen(sandbox: ExternalSandbox): Promise<number> {
  const response = await fetch(`${sandbox.url}/chaos/experiments`, {
    headers: { authorization: `Bearer ${sandbox.token}` },
  })
  return ((await response.json()) as { experiments: unknown[] }).experiments.length
}

const activeOn = async (sandbox: ExternalSandbox) => (await agentInfo(sandbox)).active_experiments.length > 0

/** Starts a long run against the sandbox and resolves once the agent lists its experiment active. */
async function injecting(cwd: string, sandbox: ExternalSandbox, extra: string[] = []) {
  const run = chaos(
    ['run', fixture('e2e_long'), '--target', sandbox.url, ...LONG_RUN, '--lease', `${LEASE_S}s`, ...extra],
    { cwd, env: { CHAOS_TOKEN: sandbox.token } },
  )
  // A run that ends before injecting is a broken try, not a hang: race its exit against the poll.
  const started = await Promise.race([
    pollUntil(() => activeOn(sandbox), { what: 'the experiment to be active on the agent', everyMs: 100 }),
    run.child.then((r) => `the runner exited ${String(r.exitCode)} before injecting:\n${r.stderr}`),
  ])
  return { run, notStarted: typeof started === 'string' ? started : undefined }
}

async function repeat(tries: number, once: () => Promise<Outcome>): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (let i = 0; i < tries; i++) {
    try {
      outcomes.push(await once())
    } catch (err) {
      outcomes.push(err instanceof Error ? err.message : String(err))
    }
  }
  return outcomes
}

async function latestJson(cwd: string): Promise<Record<string, unknown> | undefined> {
  const file = join(cwd, REPORTS, 'latest.json')
  if (!existsSync(file)) return undefined
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
}

// --- the cases -------------------------------------------------------------------------------------

const runnerSigkill: Case = {
  name: `runner SIGKILL mid-injection → fault gone within one lease (${LEASE_S} s) + 2 s`,
  measured: [],
  tries: (n) => n,
  run: (tries) =>
    repeat(tries, () =>
      withSandbox(async (cwd, sandbox) => {
        const { run, notStarted } = await injecting(cwd, sandbox)
        if (notStarted) return notStarted
        run.child.kill('SIGKILL')
        const killedAt = performance.now()
        await run.child
        await pollUntil(async () => !(await activeOn(sandbox)), {
          what: 'the agent to drop the orphaned experiment',
          timeoutMs: 30_000,
          everyMs: 100,
        })
        const goneMs = performance.now() - killedAt
        runnerSigkill.measured!.push(goneMs)
        const budget = (LEASE_S + 2) * 1000
        return goneMs <= budget ? undefined : `fault still active ${Math.round(goneMs)} ms after SIGKILL`
      }),
    ),
}

function signalCase(signal: 'SIGINT' | 'SIGTERM'): Case {
  const self: Case = {
    name: `${signal} mid-injection → exit 130, rollback verified, nothing active`,
    measured: [],
    tries: (n) => n,
    run: (tries) =>
      repeat(tries, () =>
        withSandbox(async (cwd, sandbox) => {
          const { run, notStarted } = await injecting(cwd, sandbox)
          if (notStarted) return notStarted
          run.child.kill(signal)
          const signalledAt = performance.now()
          const result = await run.child
          self.measured!.push(performance.now() - signalledAt)
          const problems: string[] = []
          if (result.exitCode !== 130) problems.push(`exit ${String(result.exitCode ?? result.signal)}`)
          const report = await latestJson(cwd)
          const experiments = (report?.experiments ?? []) as Array<{ rollback?: { verified?: boolean } }>
          if (report?.outcome !== 'INTERRUPTED') problems.push(`outcome ${String(report?.outcome)}`)
          if (experiments[0]?.rollback?.verified !== true)
            problems.push('rollback not verified in latest.json')
          if (await activeOn(sandbox)) problems.push('an experiment is still active on the agent')
          return problems.length === 0 ? undefined : problems.join('; ')
        }),
      ),
  }
  return self
}

/** Whether `pid` is still a live process (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0
const shellQuote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`

/**
 * Ctrl-C as a user presses it: the runner in a real pseudo-terminal (util-linux `script`), so its
 * spinner and raw mode are on, and ^C (0x03) typed into the terminal, not a signal sent by pid.
 */
const ctrlC: Case = {
  name: 'Ctrl-C in a pty mid-injection → exit 130, rollback verified, nothing active',
  measured: [],
  tries: (n) => n,
  ...(!HAS_SCRIPT && { skipped: 'util-linux `script` is not installed (needed for a pty)' }),
  run: (tries) =>
    repeat(tries, () =>
      withSandbox(async (cwd, sandbox) => {
        const args = [BIN, 'run', fixture('e2e_long'), '--target', sandbox.url, ...LONG_RUN]
        // A pty made by `script` has 0 columns, and the runner's spinner then blocks its event loop:
        // give it a terminal's size. `exec`: the runner is script's own child, found for the cleanup.
        const command = `stty cols 120 rows 40; exec ${[process.execPath, ...args, '--lease', `${LEASE_S}s`].map(shellQuote).join(' ')}`
        // -e: script exits with the runner's code; -f: output flushed at once; /dev/null: no typescript file.
        const term = spawn('script', ['-qfec', command, '/dev/null'], {
          cwd,
          env: { ...ENV, CHAOS_TOKEN: sandbox.token, TERM: 'xterm-256color' },
          stdio: ['pipe', 'ignore', 'ignore'],
        })
        const exited = new Promise<number | null>((resolve) => term.on('exit', (code) => resolve(code)))
        const runnerPid = () => {
          try {
            const children = readFileSync(`/proc/${term.pid}/task/${term.pid}/children`, 'utf8')
            return Number(children.trim().split(' ')[0]) || undefined
          } catch {
            return undefined
          }
        }
        let runner: number | undefined
        try {
          const started = await Promise.race([
            pollUntil(() => activeOn(sandbox), {
              what: 'the experiment to be active on the agent',
              everyMs: 100,
            }),
            exited.then((code) => `the runner exited ${String(code)} before injecting`),
          ])
          if (typeof started === 'string') return started
          // The run lock names the runner: the pty's process, not a child of this script.
          const lock = JSON.parse(await readFile(join(cwd, REPORTS, 'run.lock'), 'utf8')) as { pid: number }
          runner = lock.pid
          term.stdin.write('\x03')
          const pressedAt = performance.now()
          const gone = await Promise.race([
            exited.then((code) => ({ code })),
            pollUntil(() => !alive(runner!), { what: 'the runner to stop', timeoutMs: 15_000 })
              .then(() => exited)
              .then((code) => ({ code }))
              .catch(() => undefined),
          ])
          ctrlC.measured!.push(performance.now() - pressedAt)
          if (gone === undefined) return 'Ctrl-C ignored: the runner still ran 15 s after the key press'
          const problems: string[] = []
          if (gone.code !== 130) problems.push(`exit ${String(gone.code)}`)
          const report = await latestJson(cwd)
          const experiments = (report?.experiments ?? []) as Array<{ rollback?: { verified?: boolean } }>
          if (report?.outcome !== 'INTERRUPTED') problems.push(`outcome ${String(report?.outcome)}`)
          if (experiments[0]?.rollback?.verified !== true)
            problems.push('rollback not verified in latest.json')
          if (await activeOn(sandbox)) problems.push('an experiment is still active on the agent')
          return problems.length === 0 ? undefined : problems.join('; ')
        } finally {
          // A runner that ignored the key press loses its terminal, and then may not stop by itself.
          runner ??= runnerPid()
          if (runner !== undefined && alive(runner)) process.kill(runner, 'SIGKILL')
          if (term.exitCode === null) term.kill('SIGKILL')
        }
      }),
    ),
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']
const FAULT_TYPES = [
  'LATENCY',
  'EXCEPTION',
  'TIMEOUT',
  'CIRCUIT_BREAK',
  'RATE_LIMIT',
  'RESOURCE_EXHAUSTION',
  'x',
]

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!
}

/** A random JSON value, nested up to `depth`: the shapes a confused or hostile client sends. */
function randomJson(depth = 3): unknown {
  const kind = Math.floor(Math.random() * (depth > 0 ? 8 : 5))
  switch (kind) {
    case 0:
      return null
    case 1:
      return Math.random() < 0.5 ? Math.random() * 1e6 - 5e5 : pick([0, -1, 1e308, NaN, 2 ** 53])
    case 2:
      return pick(['', 'x', '💥', 'a'.repeat(5000), '../../etc', '%00', 'RUNNING'])
    case 3:
      return Math.random() < 0.5
    case 4:
      return pick(['LATENCY', 'SINGLE_REQUEST', 'ENTIRE_SYSTEM', 'pms_adapter'])
    case 5:
      return Array.from({ length: Math.floor(Math.random() * 4) }, () => randomJson(depth - 1))
    default: {
      const keys = [
        'id',
        'target_service',
        'fault_config',
        'lease_seconds',
        'fault_type',
        'probability',
        'latency_ms',
        '__proto__',
        'constructor',
        'x',
      ]
      return Object.fromEntries(
        Array.from({ length: Math.floor(Math.random() * 5) }, () => [pick(keys), randomJson(depth - 1)]),
      )
    }
  }
}

/** An experiment start that is nearly valid: the parser's edges, not only its front door. */
function nearlyValidStart(): unknown {
  return {
    id: pick([`fuzz-${Math.random().toString(36).slice(2, 8)}`, '', 'a b', 'x'.repeat(300), randomJson(0)]),
    target_service: pick(['pms_adapter', 'nope', '', randomJson(0)]),
    fault_config: {
      fault_type: pick(FAULT_TYPES),
      probability: pick([0, 0.5, 1, 2, -1, '0.5', null]),
      latency_ms: pick([1, 10, -5, 1e9, 'x', undefined]),
      blast_radius: pick(['SINGLE_REQUEST', 'SINGLE_SERVICE', 'ENTIRE_SYSTEM', 'nope', undefined]),
      ...(Math.random() < 0.3 ? (randomJson(1) as object) : {}),
    },
    lease_seconds: pick([1, 3, 0, -1, 1e9, 'x', undefined]),
  }
}

function randomPath(): string {
  const id = pick(['fuzz-1', 'does-not-exist', '%2e%2e', 'a'.repeat(400), '💥', ''])
  return pick([
    '/chaos',
    '/chaos/',
    '/chaos/experiments',
    '/chaos/experiments/',
    `/chaos/experiments/${id}`,
    `/chaos/experiments/${id}/lease`,
    `/chaos/experiments/${id}/lease/x`,
    '/chaos/x',
    '/chaos//experiments',
    `/chaos/experiments?x=${id}`,
  ])
}

function randomBody(): string | undefined {
  switch (Math.floor(Math.random() * 5)) {
    case 0:
      return undefined
    case 1:
      return JSON.stringify(randomJson())
    case 2:
      return JSON.stringify(nearlyValidStart())
    case 3:
      return pick(['{', '{"id":', 'null', '[]', '"x"', '\u0000\u0001', '{"a":1}{"b":2}', 'x'.repeat(2000)])
    default:
      return JSON.stringify(nearlyValidStart()).slice(0, Math.floor(Math.random() * 80))
  }
}

const FUZZ_PER_COUNT = 200

const fuzz: Case = {
  name: 'fuzzed control requests → 0 × 5xx, every request answered',
  tries: (n) => n * FUZZ_PER_COUNT,
  run: (tries) =>
    withSandbox(async (_cwd, sandbox) => {
      const outcomes: Outcome[] = []
      for (let i = 0; i < tries; i++) {
        const method = pick(METHODS)
        const path = randomPath()
        const body = method === 'GET' || method === 'HEAD' ? undefined : randomBody()
        const headers: Record<string, string> = {}
        const auth = Math.random()
        if (auth < 0.6) headers.authorization = `Bearer ${sandbox.token}`
        else if (auth < 0.8)
          headers.authorization = pick(['Bearer wrong-token-0123456789', 'Basic x', 'Bearer'])
        if (body !== undefined)
          headers['content-type'] = pick([
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
          ])
        try {
          const response = await fetch(sandbox.url + path, {
            method,
            headers,
            body,
            signal: AbortSignal.timeout(10_000),
          })
          await response.arrayBuffer()
          outcomes.push(response.status >= 500 ? `${method} ${path} answered ${response.status}` : undefined)
        } catch (err) {
          outcomes.push(`${method} ${path}: no answer (${err instanceof Error ? err.message : String(err)})`)
        }
      }
      // The agent survived it: still answering its control endpoint.
      await agentInfo(sandbox)
      return outcomes
    }),
}

const VALID_SCENARIO = validScenarioText('proof_probe', 'Probe')

/** Broken files, each with the field (or line:col) the output must name. */
const BROKEN: Array<{ name: string; text: string; names: RegExp }> = [
  {
    name: 'unknown-field.yaml',
    text: VALID_SCENARIO + 'bogus_field: 1\n',
    names: /unknown-field\.yaml:\d+:\d+ bogus_field/,
  },
  {
    name: 'bad-enum.yaml',
    text: VALID_SCENARIO.replace('fault_type: LATENCY', 'fault_type: LATENCYY'),
    names: /bad-enum\.yaml:\d+:\d+ fault_config\.fault_type/,
  },
  {
    name: 'bad-type.yaml',
    text: VALID_SCENARIO.replace('duration_seconds: 60', 'duration_seconds: soon'),
    names: /bad-type\.yaml:\d+:\d+ duration_seconds/,
  },
  {
    name: 'missing-field.yaml',
    text: VALID_SCENARIO.replace('target_service: pms_adapter\n', ''),
    names: /missing-field\.yaml(:\d+:\d+)? target_service/,
  },
  {
    name: 'yaml-syntax.yaml',
    text: 'id: [unclosed\nname: x\n',
    names: /yaml-syntax\.yaml:\d+:\d+ YAML syntax error/,
  },
]

const corpus: Case = {
  name: 'broken scenario corpus → exit 2, names file and field',
  tries: (n) => n * BROKEN.length,
  run: async (tries) => {
    const { dir, cleanup } = await tempCwd()
    try {
      const outcomes: Outcome[] = []
      for (let i = 0; i < tries; i++) {
        const broken = BROKEN[i % BROKEN.length]!
        const file = join(dir, broken.name)
        await writeFile(file, broken.text)
        const result = await runChaos(['validate', file], { cwd: dir, timeoutMs: 60_000 })
        const output = `${result.stdout}\n${result.stderr}`
        if (result.exitCode !== 2) outcomes.push(`${broken.name}: exit ${String(result.exitCode)}`)
        else if (!broken.names.test(output))
          outcomes.push(`${broken.name}: output does not match ${String(broken.names)}:\n${output}`)
        else outcomes.push(undefined)
      }
      return outcomes
    } finally {
      await cleanup()
    }
  },
}

const racing: Case = {
  name: 'racing runners → exactly one injects, the other exits 3',
  tries: (n) => n,
  run: (tries) =>
    repeat(tries, () =>
      withSandbox(async (cwd, sandbox) => {
        // Two working directories: two reports folders, two run locks — only the target is shared.
        const dirs = [join(cwd, 'a'), join(cwd, 'b')]
        await Promise.all(dirs.map((d) => mkdir(d)))
        const args = [
          'run',
          fixture('e2e_pass_target'),
          '--target',
          sandbox.url,
          '--baseline',
          '1s',
          '--duration',
          '2s',
          '--interval',
          '500ms',
          '--recovery-timeout',
          '10s',
          '--pause',
          '0s',
          '-q',
        ]
        const results = await Promise.all(
          dirs.map((d) => runChaos(args, { cwd: d, env: { CHAOS_TOKEN: sandbox.token } })),
        )
        const codes = results.map((r) => r.exitCode)
        const refused = codes.filter((c) => c === 3).length
        const winner = codes.filter((c) => c === 0 || c === 1 || c === 5).length
        const seen = await experimentsSeen(sandbox)
        const problems: string[] = []
        if (refused !== 1 || winner !== 1) problems.push(`exit codes ${codes.join(' and ')}`)
        if (seen !== 1) problems.push(`the agent saw ${seen} experiments`)
        return problems.length === 0 ? undefined : problems.join('; ')
      }),
    ),
}

const TARGET_BUDGET_MS = 30_000

/**
 * The target dies (SIGKILL) or freezes (SIGSTOP: the port stays open, nothing answers) mid-injection.
 * A runner still alive `TARGET_BUDGET_MS` + 5 s after it is stopped, so the case stays bounded.
 */
function lostTarget(signal: 'SIGKILL' | 'SIGSTOP'): Case {
  const self: Case = {
    name: `target ${signal === 'SIGKILL' ? 'killed' : 'frozen'} (${signal}) mid-injection → exit 4 within ${TARGET_BUDGET_MS / 1000} s`,
    measured: [],
    tries: (n) => n,
    run: (tries) =>
      repeat(tries, () =>
        withSandbox(async (cwd, sandbox) => {
          const { run, notStarted } = await injecting(cwd, sandbox)
          if (notStarted) return notStarted
          if (signal === 'SIGKILL') await sandbox.kill()
          else sandbox.cli.child.kill('SIGSTOP')
          const lostAt = performance.now()
          const cap = setTimeout(() => run.child.kill('SIGKILL'), TARGET_BUDGET_MS + 5_000)
          const result = await run.child
          clearTimeout(cap)
          const tookMs = performance.now() - lostAt
          self.measured!.push(tookMs)
          const problems: string[] = []
          if (result.signal === 'SIGKILL')
            problems.push(`still running ${Math.round(tookMs)} ms later: killed`)
          else if (result.exitCode !== 4) problems.push(`exit ${String(result.exitCode ?? result.signal)}`)
          if (tookMs > TARGET_BUDGET_MS && result.signal !== 'SIGKILL')
            problems.push(`exited ${Math.round(tookMs)} ms after the target was lost`)
          return problems.length === 0 ? undefined : problems.join('; ')
        }),
      ),
  }
  return self
}

const unwritable: Case = {
  name: 'unwritable latest.json → exit 4, record printed',
  tries: (n) => n,
  run: (tries) =>
    repeat(tries, () =>
      withSandbox(async (cwd, sandbox) => {
        // A directory where latest.json must go: the reports folder itself is fine, the write is not.
        await mkdir(join(cwd, REPORTS, 'latest.json'), { recursive: true })
        const result = await runChaos(
          [
            'run',
            fixture('e2e_pass_target'),
            '--target',
            sandbox.url,
            '--baseline',
            '1s',
            '--duration',
            '1s',
            '--interval',
            '500ms',
            '--recovery-timeout',
            '10s',
            '--pause',
            '0s',
            '-q',
          ],
          { cwd, env: { CHAOS_TOKEN: sandbox.token } },
        )
        const problems: string[] = []
        if (result.exitCode !== 4) problems.push(`exit ${String(result.exitCode)}`)
        if (!/^Chaos run \S+$/m.test(result.stdout)) problems.push('no record on stdout')
        if (!result.stdout.includes('Rollback: verified'))
          problems.push('the printed record lacks the rollback')
        if (!result.stderr.includes('report was not written'))
          problems.push('the error does not name the failed write')
        return problems.length === 0 ? undefined : problems.join('; ')
      }),
    ),
}

const CASES: Case[] = [
  runnerSigkill,
  signalCase('SIGINT'),
  signalCase('SIGTERM'),
  ctrlC,
  fuzz,
  corpus,
  racing,
  lostTarget('SIGKILL'),
  lostTarget('SIGSTOP'),
  unwritable,
]

// --- the table -------------------------------------------------------------------------------------

function parseCount(argv: readonly string[]): number {
  const i = argv.indexOf('--count')
  const raw = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--count='))?.slice('--count='.length)
  if (raw === undefined) return 1
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--count must be a positive integer, got ${raw}`)
  return n
}

function table(rows: Row[]): string {
  const header = ['case', 'tried', 'as promised', 'worst', 'time']
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  const lines = rows.map((r) =>
    r.skipped
      ? [r.name, '0', `skipped: ${r.skipped}`, '', '']
      : [
          r.name,
          String(r.tried),
          `${r.held}/${r.tried}`,
          r.worstMs === undefined ? '' : seconds(r.worstMs),
          seconds(r.ms),
        ],
  )
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)))
  const fmt = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n')
}

async function main(): Promise<number> {
  assertBuilt()
  const count = parseCount(process.argv.slice(2))
  const started = performance.now()
  const rows: Row[] = []
  // `--only WORD`: the cases whose name contains WORD (e.g. `--only SIGKILL`), to re-measure one promise.
  const onlyAt = process.argv.indexOf('--only')
  const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined
  for (const c of CASES.filter((k) => only === undefined || k.name.includes(only))) {
    const tried = c.tries(count)
    if (c.skipped) {
      rows.push({ name: c.name, tried: 0, held: 0, failures: [], ms: 0, skipped: c.skipped })
      continue
    }
    process.stderr.write(`proof: ${c.name} (${tried}) ...\n`)
    const t0 = performance.now()
    let outcomes: Outcome[]
    try {
      outcomes = await c.run(tried)
    } catch (err) {
      outcomes = [err instanceof Error ? err.message : String(err)]
    }
    const failures = outcomes.filter((o): o is string => o !== undefined)
    const worstMs = c.measured && c.measured.length > 0 ? Math.max(...c.measured) : undefined
    rows.push({
      name: c.name,
      tried,
      held: tried - failures.length,
      failures,
      ms: performance.now() - t0,
      worstMs,
    })
  }
  console.log(table(rows))
  const broken = rows.filter((r) => r.failures.length > 0)
  for (const r of broken) {
    console.log(`\n${r.name}: ${r.failures.length} not as promised`)
    for (const f of r.failures.slice(0, 5)) console.log(`  - ${f.split('\n').join('\n    ')}`)
  }
  console.log(
    `\n${rows.length} cases, count ${count}, ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  return broken.length === 0 ? 0 : 1
}

try {
  process.exitCode = await main()
} finally {
  await stopStragglers(5_000)
}
