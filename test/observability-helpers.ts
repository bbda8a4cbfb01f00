/**
 * Helpers for the dashboard and alert-rule tests: the PromQL expressions in
 * deploy/grafana/chaos-dashboard.json and deploy/prometheus/chaos-rules.yml, the metric names they
 * use, and the metric names that really exist (the sandbox's and agent's registries, the pushed
 * results, the monkey's metrics, Prometheus built-ins).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { parse as parseYaml } from 'yaml'
import { createAgentMetrics } from '../src/agent/metrics.js'
import { PUSHED_METRIC_NAMES } from '../src/observability/pushgateway.js'
import { startSandbox } from '../src/sandbox/index.js'
import { createMonkeyMetrics, createScheduleMetrics } from '../src/unattended/metrics.js'
import { ROOT } from './support/index.js'

export const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'chaos-dashboard.json')
export const RULES = join(ROOT, 'deploy', 'prometheus', 'chaos-rules.yml')
export const RULES_TEST = join(ROOT, 'deploy', 'prometheus', 'chaos-rules.test.yml')
export const PROMETHEUS_CONFIG = join(ROOT, 'deploy', 'prometheus', 'prometheus.yml')

/** What `chaos monkey --metrics-port` exports, as agreed in issue 5 (checked against its registry). */
export const MONKEY_METRICS = [
  'chaos_monkey_checks_total',
  'chaos_monkey_experiments_started_total',
  'chaos_monkey_experiment_outcomes_total',
  'chaos_monkey_active_experiment',
  'chaos_monkey_last_check_timestamp_seconds',
] as const

/** Series Prometheus itself creates (alerts, scrape health). */
export const PROMETHEUS_BUILTINS = ['ALERTS', 'ALERTS_FOR_STATE', 'up'] as const

/** Names as they appear in the exposition format (histograms as _bucket/_sum/_count). */
function exposedNames(registry: Registry): string[] {
  return registry.getMetricsAsArray().flatMap((m) => {
    const { name, type } = m as unknown as { name: string; type: string }
    if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`]
    if (type === 'summary') return [name, `${name}_sum`, `${name}_count`]
    return [name]
  })
}

/** Metric names of the long-running modes' registries (`chaos monkey` / `chaos schedule --metrics-port`). */
export function unattendedMetricNames(): string[] {
  const registry = new Registry()
  createMonkeyMetrics(registry)
  createScheduleMetrics(registry)
  return exposedNames(registry)
}

/**
 * Every metric name that really exists, collected from the real registries: the sandbox (with its
 * agent), the agent alone, the pushed results, the monkey and scheduler, plus Prometheus built-ins.
 */
export async function knownMetricNames(): Promise<Set<string>> {
  const sandbox = await startSandbox({ token: 'names-token-0123456789', port: 0 })
  try {
    const agentOnly = new Registry()
    createAgentMetrics(agentOnly, () => [])
    return new Set([
      ...exposedNames(sandbox.registry),
      ...exposedNames(agentOnly),
      ...PUSHED_METRIC_NAMES,
      ...unattendedMetricNames(),
      ...PROMETHEUS_BUILTINS,
    ])
  } finally {
    await sandbox.close()
  }
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
])

/** Grafana's variables replaced by values Prometheus accepts. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__interval|\$\{__interval\}/g, '15s')
    .replace(/\$__range|\$\{__range\}/g, '1h')
    .replace(/\$\{?(\w+)\}?/g, '.*')
}

/**
 * Metric names used in a PromQL expression (or a Grafana `label_values(selector, label)` query).
 * Strings, label matchers, ranges and grouping clauses are removed first; what is left that looks
 * like an identifier, is not a keyword and is not called like a function is a metric name.
 */
export function metricNamesIn(expression: string): string[] {
  let expr = expression.trim()
  const labelValues = /^label_values\((.*),\s*\w+\s*\)$/s.exec(expr)
  if (labelValues) expr = labelValues[1]!
  expr = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{?\w+\}?/g, '0')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const m of expr.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const word = m[0]
    const after = expr.slice(m.index + word.length).trimStart()
    if (KEYWORDS.has(word.toLowerCase()) || after.startsWith('(')) continue
    names.add(word)
  }
  return [...names]
}

interface DashboardTarget {
  expr?: string
  refId?: string
  datasource?: { type?: string; uid?: string }
}
interface DashboardPanel {
  id: number
  type: string
  title: string
  gridPos: { h: number; w: number; x: number; y: number }
  datasource?: { type?: string; uid?: string }
  targets?: DashboardTarget[]
  panels?: DashboardPanel[]
}
export interface Dashboard {
  uid: string
  title: string
  schemaVersion: number
  panels: DashboardPanel[]
  annotations: {
    list: Array<{ name: string; expr?: string; datasource?: { type?: string; uid?: string } }>
  }
  templating: {
    list: Array<{ name: string; type: string; definition?: string; query?: unknown }>
  }
}

export async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

/** Every PromQL expression of the dashboard with where it is: panel targets, annotations, variables. */
export function dashboardExpressions(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = []
  for (const panel of allPanels(dashboard))
    for (const t of panel.targets ?? [])
      if (t.expr) out.push({ where: `panel "${panel.title}" ${t.refId ?? ''}`.trim(), expr: t.expr })
  for (const a of dashboard.annotations.list)
    if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr })
  for (const v of dashboard.templating.list)
    if (v.type === 'query' && v.definition) out.push({ where: `variable $${v.name}`, expr: v.definition })
  return out
}

export interface RulesFile {
  groups: Array<{
    name: string
    rules: Array<{
      alert?: string
      record?: string
      expr: string
      for?: string
      labels?: Record<string, string>
      annotations?: Record<string, string>
    }>
  }>
}

export async function readRules(): Promise<RulesFile> {
  return parseYaml(await readFile(RULES, 'utf8')) as RulesFile
}
