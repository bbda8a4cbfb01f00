import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '../src/errors.js'
import {
  BUILTIN_ORDER,
  findScenarioFiles,
  loadCatalogue,
  packageRoot,
  resolveSelection,
} from '../src/scenario/catalogue.js'
import { formatProblem, loadScenarioFiles, parseScenario, type Problem } from '../src/scenario/loader.js'
import { validScenarioText } from './support/scenario-text.js'

const fixtures = join(import.meta.dirname, 'fixtures')
const cwd = join(import.meta.dirname, '..')

/** A minimal valid scenario; tests derive broken variants from it with string replacements. */
const VALID = validScenarioText()

/** The same scenario as plain data, for the JSON form. */
const VALID_DATA = {
  id: 'probe_latency',
  name: 'Probe latency',
  category: 'network',
  target_service: 'pms_adapter',
  duration_seconds: 60,
  steady_state_hypothesis: 'P95 latency < 2x baseline',
  fault_config: { fault_type: 'LATENCY', probability: 0.3, latency_ms: 2000 },
  checks: ['latency_p95_ms < 2x baseline during'],
}

function problemsOf(text: string, file = '/x/probe.yaml'): Problem[] {
  return parseScenario(text, file, 'probe.yaml').problems
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function position(text: string, needle: string, offset = 0): { line: number; col: number } {
  const index = text.indexOf(needle)
  if (index < 0) throw new Error(`${needle} not in text`)
  const before = text.slice(0, index + offset)
  const lines = before.split('\n')
  return { line: lines.length, col: lines[lines.length - 1]!.length + 1 }
}

describe('parseScenario: valid files', () => {
  it('loads a scenario and applies the defaults', () => {
    const { scenario, problems } = parseScenario(VALID, '/x/probe.yaml')
    expect(problems).toEqual([])
    expect(scenario?.fault_config).toEqual({
      fault_type: 'LATENCY',
      probability: 0.3,
      latency_ms: 2000,
      latency_jitter_ms: 0,
      blast_radius: 'SINGLE_SERVICE',
      enabled: true,
    })
    expect(scenario?.description).toBe('')
    expect(scenario?.tags).toEqual([])
    expect(scenario?.checks[0]).toMatchObject({
      name: 'latency_p95_ms < 2x baseline during',
      bound: { kind: 'baseline', factor: 2 },
      phase: 'during',
    })
  })

  it('loads the same scenario written as JSON', () => {
    const json = JSON.stringify(VALID_DATA, null, '\t')
    const { scenario, problems } = parseScenario(json, '/x/probe.json')
    expect(problems).toEqual([])
    expect(scenario?.id).toBe('probe_latency')
  })

  it('accepts named checks, safety, workload and tags', () => {
    const text = VALID.replace(
      '  - latency_p95_ms < 2x baseline during\n',
      `  - name: p95 bounded
    check: latency_p95_ms < 2x baseline during
safety:
  max_error_rate: 0.2
workload:
  requests:
    - path: /api/availability?check_in=2030-01-01&check_out=2030-01-02
tags: [network, latency]
`,
    )
    const { scenario, problems } = parseScenario(text, '/x/probe.yaml')
    expect(problems).toEqual([])
    expect(scenario?.checks[0]?.name).toBe('p95 bounded')
    expect(scenario?.safety).toEqual({ max_error_rate: 0.2 })
    expect(scenario?.workload?.requests[0]).toMatchObject({ method: 'GET', weight: 1 })
  })
})

describe('parseScenario: problems, each positioned', () => {
  it('points an unknown top-level key at the key, with a suggestion', () => {
    const text = VALID + 'latencyms: 3\n'
    expect(problemsOf(text)).toEqual([
      {
        file: 'probe.yaml',
        ...position(text, 'latencyms'),
        field: 'latencyms',
        message: 'unknown field "latencyms"',
        hint: 'allowed here: id, name, description, category, target_service, duration_seconds, steady_state_hypothesis, fault_config, checks, safety, workload, tags',
      },
    ])
  })

  it('suggests the fault parameter closest to a typo inside fault_config', () => {
    const text = VALID.replace('  latency_ms: 2000', '  latency_ms: 2000\n  latency_jiter_ms: 5')
    const [p] = problemsOf(text)
    expect(p).toMatchObject({
      ...position(text, 'latency_jiter_ms'),
      field: 'fault_config.latency_jiter_ms',
      hint: 'did you mean "latency_jitter_ms"?',
    })
  })

  it.each([
    ['LATENCY', 'latency_ms', '  latency_ms: 2000'],
    ['EXCEPTION', 'exception_class', ''],
    ['TIMEOUT', 'timeout_ms', ''],
    ['RATE_LIMIT', 'rate_limit_requests', '  rate_limit_window_seconds: 60'],
  ])('reports a %s fault without %s at fault_config', (faultType, field, keep) => {
    const text = VALID.replace(
      '  fault_type: LATENCY\n  probability: 0.3\n  latency_ms: 2000\n',
      `  fault_type: ${faultType}\n  probability: 0.3\n${keep && field !== 'latency_ms' ? keep + '\n' : ''}`,
    )
    const problems = problemsOf(text)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({
      ...position(text, 'fault_config'),
      field: `fault_config.${field}`,
      message: 'missing required field',
    })
    expect(problems[0]!.hint).toContain(`${faultType} faults need ${field}, e.g. ${field}:`)
  })

  it('suggests a field from its abbreviation, and names types in plain words', () => {
    const text = VALID.replace('latency_ms: 2000', 'latency_ms: 2000.5') + 'safety: { min_avail: 0.9 }\n'
    expect(problemsOf(text).map((p) => [p.field, p.message, p.hint])).toEqual([
      [
        'fault_config.latency_ms',
        'expected a whole number, got a number (2000.5)',
        'whole milliseconds, e.g. 2000',
      ],
      ['safety.min_avail', 'unknown field "min_avail"', 'did you mean "min_availability"?'],
    ])
  })

  it('reports an unknown fault type with a suggestion', () => {
    const text = VALID.replace('fault_type: LATENCY', 'fault_type: LATENCYY')
    expect(problemsOf(text)[0]).toMatchObject({
      ...position(text, 'LATENCYY'),
      field: 'fault_config.fault_type',
      message: '"LATENCYY" is not a valid fault_type',
    })
    expect(problemsOf(text)[0]!.hint).toMatch(/^did you mean LATENCY\?/)
  })

  it('reports probability 1.5 and a 2-hour duration at their values', () => {
    const text = VALID.replace('probability: 0.3', 'probability: 1.5').replace(
      'duration_seconds: 60',
      'duration_seconds: 7200',
    )
    const problems = problemsOf(text)
    expect(problems.map((p) => [p.field, p.line, p.col, p.message])).toEqual([
      [
        'duration_seconds',
        position(text, '7200').line,
        position(text, '7200').col,
        'must be at most 1800 (30 minutes, guide section 7)',
      ],
      [
        'fault_config.probability',
        position(text, '1.5').line,
        position(text, '1.5').col,
        'must be at most 1',
      ],
    ])
    expect(problems[1]!.hint).toContain('between 0 and 1')
  })

  it('reports a wrong type with what was found', () => {
    const text = VALID.replace('duration_seconds: 60', 'duration_seconds: 2h')
    expect(problemsOf(text)[0]).toMatchObject({
      field: 'duration_seconds',
      message: 'expected a number, got a string ("2h")',
    })
  })

  it.each([
    ['plain', 'error_rate < 5% durin', 0],
    ['double-quoted', '"error_rate < 5% durin"', 1],
    ['single-quoted', "'error_rate < 5% durin'", 1],
  ])('adds the check column inside a %s scalar to its position', (_kind, written, quote) => {
    const text = VALID.replace('latency_p95_ms < 2x baseline during', written)
    const [p] = problemsOf(text)
    const start = position(text, written)
    expect(p).toEqual({
      file: 'probe.yaml',
      line: start.line,
      col: start.col + quote + 'error_rate < 5% '.length,
      field: 'checks[0]',
      message: 'unknown phase "durin"',
      hint: 'end the check with when it applies: before, during or after',
    })
  })

  it('shows the grammar error of a named check, not the union error', () => {
    const text = VALID.replace(
      '  - latency_p95_ms < 2x baseline during',
      '  - name: p95\n    check: latency_p95 < 2x baseline during',
    )
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        ...position(text, 'latency_p95 <'),
        field: 'checks[0].check',
        message: 'unknown measure "latency_p95"',
      }),
    ])
  })

  it('reports a named check without its expression, and a check of the wrong type', () => {
    const text = VALID.replace('  - latency_p95_ms < 2x baseline during', '  - name: p95\n  - 42')
    expect(problemsOf(text).map((p) => [p.field, p.message])).toEqual([
      ['checks[0].check', 'missing required field'],
      ['checks[1]', 'expected a string or a mapping, got a number (42)'],
    ])
  })

  it('reports an empty check list', () => {
    const text = VALID.replace('checks:\n  - latency_p95_ms < 2x baseline during\n', 'checks: []\n')
    expect(problemsOf(text)[0]).toMatchObject({
      field: 'checks',
      message: 'needs at least one check to make the hypothesis measurable',
    })
  })

  it('collects every problem of a file at once, in source order', () => {
    // Categories are open (payments is fine), so the typo here is one no category may have.
    const text = VALID.replace('category: network', 'category: Netwrk')
      .replace('probability: 0.3', 'probability: -1')
      .replace('latency_p95_ms < 2x', 'latency_p95_ms ~ 2x')
      .concat('extra: 1\n')
    const problems = problemsOf(text)
    expect(problems.map((p) => p.field)).toEqual([
      'category',
      'fault_config.probability',
      'checks[0]',
      'extra',
    ])
    expect(problems[0]!.hint).toMatch(/^did you mean network\? /)
    expect(problems.map((p) => p.line)).toEqual([...problems.map((p) => p.line)].sort((a, b) => a - b))
  })

  it('reports a missing top-level field at the start of the file', () => {
    const text = VALID.replace('target_service: pms_adapter\n', '')
    expect(problemsOf(text)[0]).toMatchObject({
      line: 1,
      col: 1,
      field: 'target_service',
      message: 'missing required field',
    })
  })

  it('names a duplicate key and points at its second occurrence', () => {
    expect(problemsOf(VALID + 'id: again\n')).toEqual([
      {
        file: expect.any(String) as string,
        line: 13,
        col: 1,
        field: 'id',
        message: 'duplicate key "id"',
        hint: 'each field may appear once; remove one of them',
      },
    ])
  })

  it.each([
    ['a tab indent', VALID.replace('  probability', '\tprobability'), 'Tabs', 'indent with spaces'],
    ['two documents', VALID + '---\n' + VALID, 'multiple documents', 'one scenario per file'],
    [
      'an unclosed flow sequence',
      VALID.replace('latency_ms: 2000', 'latency_ms: [2000'),
      'Flow sequence',
      'indentation',
    ],
  ])('reports YAML syntax errors (%s) with their position', (_name, text, message, hint) => {
    const problems = problemsOf(text)
    expect(problems.length).toBeGreaterThan(0)
    expect(problems[0]!.message).toMatch(/^YAML syntax error: /)
    expect(problems[0]!.message).toContain(message)
    expect(problems[0]!.hint).toContain(hint)
    expect(problems[0]!.line).toBeGreaterThan(1)
  })

  it('reports an empty file and a file that is not a mapping', () => {
    expect(problemsOf('')[0]).toMatchObject({ line: 1, col: 1, message: 'file is empty' })
    expect(problemsOf('# nothing\n')[0]).toMatchObject({ message: 'file is empty' })
    expect(problemsOf('- a\n- b\n')[0]).toMatchObject({ message: 'expected a mapping of fields, got a list' })
  })

  it('reports a category that does not match the category directory', () => {
    const problems = parseScenario(VALID, '/repo/scenarios/pms/probe.yaml', 'probe.yaml').problems
    expect(problems).toEqual([
      expect.objectContaining({
        field: 'category',
        message: 'is "network" but the file is in the "pms" directory',
        hint: 'move the file to network/ or set category: pms',
      }),
    ])
  })

  it('formats a problem as one line: file:line:col field: message (hint: ...)', () => {
    expect(
      formatProblem({
        file: 'a.yaml',
        line: 3,
        col: 7,
        field: 'fault_config.probability',
        message: 'must be at most 1',
        hint: 'x',
      }),
    ).toBe('a.yaml:3:7 fault_config.probability: must be at most 1 (hint: x)')
    expect(formatProblem({ file: 'a.yaml', line: 1, col: 1, field: '', message: 'file is empty' })).toBe(
      'a.yaml:1:1 file is empty',
    )
  })
})

describe('findScenarioFiles', () => {
  it("finds a ConfigMap's files: symlinks into the kubelet's hidden ..data directory, each once", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-configmap-'))
    try {
      // The kubelet's layout: ..<timestamp>/ holds the files, ..data links to it, each key links through ..data.
      await mkdir(join(dir, '..2026_11_30_02_00_00.1'))
      await writeFile(join(dir, '..2026_11_30_02_00_00.1', 'probe.yaml'), VALID)
      await symlink('..2026_11_30_02_00_00.1', join(dir, '..data'))
      await symlink(join('..data', 'probe.yaml'), join(dir, 'probe.yaml'))
      await symlink('missing.yaml', join(dir, 'dangling.yaml'))
      expect(await findScenarioFiles(dir)).toEqual([join(dir, 'probe.yaml')])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('loadScenarioFiles', () => {
  it('reports every broken fixture, each with its own problem', async () => {
    const files = await findScenarioFiles(join(fixtures, 'broken'))
    const { scenarios, problems } = await loadScenarioFiles(files, { cwd })
    expect(scenarios).toEqual([])
    const byFile = new Map(
      problems.map((p) => [p.file.replace('test/fixtures/broken/', ''), formatProblem(p)]),
    )
    expect(problems).toHaveLength(files.length)
    expect(byFile.get('bad-yaml.yaml')).toMatch(
      /^test\/fixtures\/broken\/bad-yaml\.yaml:\d+:\d+ YAML syntax error/,
    )
    expect(byFile.get('unknown-key.yaml')).toMatch(
      /:12:3 fault_config\.latencyms: unknown field "latencyms" \(hint: did you mean "latency_ms"\?\)$/,
    )
    expect(byFile.get('latency-without-latency-ms.yaml')).toMatch(
      /:8:1 fault_config\.latency_ms: missing required field/,
    )
    expect(byFile.get('exception-without-class.yaml')).toMatch(
      /:8:1 fault_config\.exception_class: missing required field/,
    )
    expect(byFile.get('timeout-without-timeout-ms.yaml')).toMatch(
      /:8:1 fault_config\.timeout_ms: missing required field/,
    )
    expect(byFile.get('rate-limit-without-requests.yaml')).toMatch(
      /:8:1 fault_config\.rate_limit_requests: missing required field/,
    )
    expect(byFile.get('probability-1.5.yaml')).toMatch(/:10:16 fault_config\.probability: must be at most 1/)
    expect(byFile.get('duration-2h.yaml')).toMatch(/:6:19 duration_seconds: must be at most 1800/)
    expect(byFile.get('bad-check.yaml')).toMatch(/:13:23 checks\[0\]: unknown phase "durin"/)
    const json = await readFile(join(fixtures, 'broken', 'bad-check.json'), 'utf8')
    const at = position(json, '"latency_p95_ms < 3 parsecs during"', 1 + 'latency_p95_ms < 3 '.length)
    expect(byFile.get('bad-check.json')).toContain(
      `bad-check.json:${at.line}:${at.col} checks[1].check: unknown phase "parsecs"`,
    )
  })

  it('reports ids used by two files, and unreadable files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-loader-'))
    try {
      await writeFile(join(dir, 'a.yaml'), VALID)
      await writeFile(join(dir, 'b.yaml'), '# copy\n' + VALID)
      const { scenarios, problems } = await loadScenarioFiles(
        [join(dir, 'a.yaml'), join(dir, 'b.yaml'), join(dir, 'missing.yaml')],
        { cwd: dir },
      )
      expect(scenarios.map((s) => s.display)).toEqual(['a.yaml'])
      expect(problems.map(formatProblem)).toEqual([
        'b.yaml:2:5 id: duplicate id "probe_latency" (also in a.yaml:1:5) (hint: scenario ids must be unique across every loaded directory; rename one)',
        'missing.yaml:1:1 cannot read: no such file (hint: check the path)',
      ])
    } finally {
      await rm(dir, { recursive: true })
    }
  })
})

describe('catalogue', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaos-catalogue-'))
    const write = async (category: string, id: string, extra = '') => {
      await mkdir(join(dir, category), { recursive: true })
      const text = VALID.replace('id: probe_latency', `id: ${id}`).replace(
        'category: network',
        `category: ${category}`,
      )
      await writeFile(join(dir, category, `${id}.yaml`), text + extra)
    }
    // Written out of order on purpose: the catalogue orders by category, then guide numbering, then id.
    await write('pms', 'pms_slow_response')
    await write('pms', 'pms_api_failure')
    await write('pms', 'aaa_custom_pms')
    await write('network', 'network_timeout')
    await write('network', 'network_latency')
    await writeFile(join(dir, 'scenario.schema.json'), '{}')
    await mkdir(join(dir, '.hidden'))
    await writeFile(join(dir, '.hidden', 'ignored.yaml'), 'not: a scenario')
  })
  afterAll(async () => rm(dir, { recursive: true }))

  const load = () => loadCatalogue({ cwd: dir, builtin: false, dirs: [dir] })

  it('finds the package root and the built-in directory from the sources', () => {
    expect(packageRoot()).toBe(cwd)
    expect(BUILTIN_ORDER).toHaveLength(27)
    expect(new Set(BUILTIN_ORDER).size).toBe(27)
  })

  it('loads scenario files only (not schemas, not hidden directories), in catalogue order', async () => {
    const catalogue = await load()
    expect(catalogue.problems).toEqual([])
    expect(catalogue.scenarios.map((s) => s.scenario.id)).toEqual([
      'network_latency',
      'network_timeout',
      'pms_api_failure',
      'pms_slow_response',
      'aaa_custom_pms',
    ])
  })

  it('resolves categories, ids, files, directories and all, in the order given, without duplicates', async () => {
    const catalogue = await load()
    const ids = async (...words: string[]) =>
      (await resolveSelection(catalogue, words, { cwd: dir })).map((s) => s.scenario.id)
    expect(await ids('pms')).toEqual(['pms_api_failure', 'pms_slow_response', 'aaa_custom_pms'])
    expect(await ids('pms_slow_response', 'network')).toEqual([
      'pms_slow_response',
      'network_latency',
      'network_timeout',
    ])
    expect(await ids('network', 'network_latency', 'all')).toEqual([
      'network_latency',
      'network_timeout',
      'pms_api_failure',
      'pms_slow_response',
      'aaa_custom_pms',
    ])
    expect(await ids('./network/network_timeout.yaml')).toEqual(['network_timeout'])
    expect(await ids('network')).toEqual(await ids('network/'))
  })

  it('loads and validates a file outside the catalogue', async () => {
    const catalogue = await load()
    const outside = join(fixtures, 'user-scenarios', 'whatsapp-latency.yaml')
    const picked = await resolveSelection(catalogue, [outside], { cwd: dir })
    expect(picked.map((s) => s.scenario.id)).toEqual(['custom_latency_test'])
    const broken = join(fixtures, 'broken', 'probability-1.5.yaml')
    await expect(resolveSelection(catalogue, [broken], { cwd: dir })).rejects.toMatchObject({
      exitCode: 2,
      details: [
        expect.stringMatching(/probability-1\.5\.yaml:10:16 fault_config\.probability: must be at most 1/),
      ],
    })
  })

  it('rejects unknown words with "did you mean" and the valid categories', async () => {
    const catalogue = await load()
    const err = (await resolveSelection(catalogue, ['netwrk'], { cwd: dir }).catch(
      (e: unknown) => e,
    )) as InvalidInputError
    expect(err).toBeInstanceOf(InvalidInputError)
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe('unknown selection "netwrk" (did you mean network?)')
    expect(err.hint).toContain('network, service, database, pms, resource')
    const two = (await resolveSelection(catalogue, ['pms_api_failur', 'zzz'], { cwd: dir }).catch(
      (e: unknown) => e,
    )) as InvalidInputError
    expect(two.message).toBe('2 unknown selections')
    expect(two.details).toEqual([
      'unknown selection "pms_api_failur" (did you mean pms_api_failure?)',
      'unknown selection "zzz"',
    ])
    await expect(resolveSelection(catalogue, ['nope/missing.yaml'], { cwd: dir })).rejects.toMatchObject({
      exitCode: 2,
    })
    await expect(resolveSelection(catalogue, ['resource'], { cwd: dir })).rejects.toThrow(
      /no scenarios match resource/,
    )
    await expect(resolveSelection(catalogue, [], { cwd: dir })).rejects.toThrow(/nothing selected/)
  })

  it('rejects an extra directory that does not exist', async () => {
    await expect(loadCatalogue({ cwd: dir, builtin: false, dirs: ['nope'] })).rejects.toThrow(
      /scenario directory nope does not exist/,
    )
  })
})

describe('open categories', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaos-categories-'))
    const write = async (category: string, id: string) => {
      const text = VALID.replace('id: probe_latency', `id: ${id}`).replace(
        'category: network',
        `category: ${category}`,
      )
      await writeFile(join(dir, `${id}.yaml`), text)
    }
    await write('payments', 'card_declined')
    await write('billing', 'invoice_slow')
    await write('pms', 'my_pms')
  })
  afterAll(async () => rm(dir, { recursive: true }))

  it("accepts a user's own category and sorts it after the guide's, alphabetically", async () => {
    const catalogue = await loadCatalogue({ cwd: dir, builtin: false, dirs: [dir] })
    expect(catalogue.problems).toEqual([])
    expect(catalogue.scenarios.map((s) => s.scenario.category)).toEqual(['pms', 'billing', 'payments'])
    const ids = async (...words: string[]) =>
      (await resolveSelection(catalogue, words, { cwd: dir })).map((s) => s.scenario.id)
    expect(await ids('payments')).toEqual(['card_declined'])
    expect(await ids('all')).toEqual(['my_pms', 'invoice_slow', 'card_declined'])
    await expect(resolveSelection(catalogue, ['paymnts'], { cwd: dir })).rejects.toMatchObject({
      message: 'unknown selection "paymnts" (did you mean payments?)',
    })
  })

  it('refuses a category that is not a lower-case word, or is "all"', () => {
    const bad = (category: string) => problemsOf(VALID.replace('category: network', `category: ${category}`))
    expect(bad('Payments!')[0]).toMatchObject({ field: 'category' })
    expect(bad('all')[0]?.field).toBe('category')
    expect(bad('all')[0]?.message).toMatch(/"all"/)
    expect(bad('payments')).toEqual([])
  })
})
