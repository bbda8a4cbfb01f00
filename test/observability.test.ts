/**
 * The shipped observability files: the Grafana dashboard and the Prometheus alert rules only name
 * metrics that something really exports (sandbox and agent registries, the pushed experiment
 * results, the monkey, Prometheus built-ins), and are structurally sound. promtool and a real
 * Prometheus check them further in prometheus-integration.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_EXPERIMENT_SECONDS } from '../src/protocol/schemas.js'
import { PUSHED_METRIC_NAMES } from '../src/observability/pushgateway.js'
import {
  MONKEY_METRICS,
  allPanels,
  dashboardExpressions,
  knownMetricNames,
  metricNamesIn,
  readDashboard,
  readRules,
  substituteGrafanaVariables,
  unattendedMetricNames,
  type Dashboard,
  type RulesFile,
} from './observability-helpers.js'

describe('metricNamesIn (the PromQL name extractor the checks below rely on)', () => {
  it.each([
    ['up', ['up']],
    ['sum(rate(http_requests_total{status=~"5..", route!="/x"}[$__rate_interval]))', ['http_requests_total']],
    [
      'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))',
      ['http_request_duration_seconds_bucket'],
    ],
    [
      'time() - max(chaos_monkey_last_check_timestamp_seconds) > 2 * 86400',
      ['chaos_monkey_last_check_timestamp_seconds'],
    ],
    ['count(a == 1) or vector(0)', ['a']],
    ['a / on (instance) group_left (job) b offset 5m', ['a', 'b']],
    ['absent(x_total{job="monkey"})', ['x_total']],
    [
      'label_values(chaos_experiment_last_run_timestamp_seconds{job="chaos"}, experiment)',
      ['chaos_experiment_last_run_timestamp_seconds'],
    ],
    ['rate(c[1m:10s]) > 1e3 unless d', ['c', 'd']],
  ])('%s', (expr, names) => {
    expect(metricNamesIn(expr).sort()).toEqual([...names].sort())
  })
})

describe('Grafana dashboard deploy/grafana/chaos-dashboard.json', () => {
  let dashboard: Dashboard
  let known: Set<string>
  beforeAll(async () => {
    dashboard = await readDashboard()
    known = await knownMetricNames()
  })

  it('knows the real metric names (sanity of the reference list)', () => {
    for (const name of [
      'chaos_agent_experiment_active',
      'chaos_agent_faults_injected_total',
      'chaos_agent_calls_total',
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'circuit_breaker_trips_total',
      ...PUSHED_METRIC_NAMES,
    ])
      expect(known, name).toContain(name)
    expect(known).not.toContain('chaos_experiment_passed')
  })

  it('the monkey exports exactly the metrics the rules and dashboard were written against', () => {
    const monkey = unattendedMetricNames().filter((n) => n.startsWith('chaos_monkey_'))
    expect(monkey.sort()).toEqual([...MONKEY_METRICS].sort())
  })

  it('queries only metrics that the runner, the agent, the sandbox or the monkey export', () => {
    const expressions = dashboardExpressions(dashboard)
    expect(expressions.length).toBeGreaterThan(20)
    const unknown = expressions.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((n) => !known.has(n))
        .map((n) => `${where}: ${n}`),
    )
    expect(unknown).toEqual([])
  })

  it('covers outcomes, availability / error rate / p95 during chaos, MTTR, breaker trips, active faults and the monkey', () => {
    const used = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => metricNamesIn(expr)))
    for (const name of [...PUSHED_METRIC_NAMES, 'chaos_agent_experiment_active', ...MONKEY_METRICS])
      expect(used, name).toContain(name)
  })

  it('annotates experiment windows from chaos_agent_experiment_active', () => {
    const windows = dashboard.annotations.list.find((a) => a.name === 'Experiment windows')
    expect(windows?.expr).toBeDefined()
    expect(metricNamesIn(windows!.expr!)).toEqual(['chaos_agent_experiment_active'])
    expect(windows!.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' })
  })

  it('is importable: uid and title, unique panel ids, every query on the datasource variable, sane grid', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/)
    expect(dashboard.title).toBeTruthy()
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    const panels = allPanels(dashboard)
    const ids = panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(dashboard.templating.list.map((v) => v.name)).toContain('datasource')
    for (const panel of panels) {
      const { x, w, h, y } = panel.gridPos
      expect(x + w, panel.title).toBeLessThanOrEqual(24)
      expect(Math.min(x, y, w - 1, h - 1), panel.title).toBeGreaterThanOrEqual(0)
      if (panel.type === 'row') continue
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      const refIds = panel.targets!.map((t) => t.refId)
      expect(new Set(refIds).size, panel.title).toBe(refIds.length)
    }
  })

  it('leaves no Grafana variable Prometheus would see unsubstituted', () => {
    for (const { where, expr } of dashboardExpressions(dashboard))
      expect(substituteGrafanaVariables(expr), where).not.toContain('$')
  })
})

describe('alert rules deploy/prometheus/chaos-rules.yml', () => {
  let rules: RulesFile
  let known: Set<string>
  beforeAll(async () => {
    rules = await readRules()
    known = await knownMetricNames()
  })
  const alert = (name: string) => rules.groups.flatMap((g) => g.rules).find((r) => r.alert === name)

  it('queries only metrics that really exist', () => {
    const unknown = rules.groups
      .flatMap((g) => g.rules)
      .flatMap((r) =>
        metricNamesIn(r.expr)
          .filter((n) => !known.has(n))
          .map((n) => `${r.alert}: ${n}`),
      )
    expect(unknown).toEqual([])
  })

  it('alerts on a failed hypothesis, a safety abort, a fault past the hard cap and a silent monkey', () => {
    expect(alert('ChaosHypothesisFailed')?.expr).toMatch(/chaos_experiment_hypothesis_held\b.*== 0/)
    expect(alert('ChaosExperimentAbortedBySafety')?.expr).toMatch(/chaos_experiment_aborted\b.*== 1/)
    const tooLong = alert('ChaosFaultActiveTooLong')
    expect(tooLong?.expr).toMatch(/chaos_agent_experiment_active\b.*== 1/)
    // The `for` is the agent's hard cap on any experiment (guide section 7: 30 minutes).
    expect(tooLong?.for).toBe(`${MAX_EXPERIMENT_SECONDS / 60}m`)
    expect(alert('ChaosMonkeyNotReporting')?.expr).toMatch(
      /^time\(\) - chaos_monkey_last_check_timestamp_seconds > \d+\b/,
    )
    expect(alert('ChaosMonkeyAbsent')?.expr).toMatch(/^absent\(chaos_monkey_last_check_timestamp_seconds\)$/)
  })

  it('gives every alert a severity and a summary', () => {
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(info|warning|critical)$/)
      expect(rule.annotations?.summary, rule.alert).toBeTruthy()
    }
  })
})
