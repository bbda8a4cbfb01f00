/**
 * A real Prometheus (Debian package) scraping jobs whose targets come from `file_sd_configs`, for
 * the discovery tests: started on a free loopback port, ready when `/-/ready` answers, and
 * {@link waitForScrapes} tells when it has scraped every target (its API is then what a runner sees).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { startupBudgetMs } from './cli.js'
import { freePort } from './free-port.js'
import { POLL_TIMEOUT_MS, pollUntil } from './poll.js'

/** A running Prometheus: its base URL, and a stop that waits for the process to end. */
export interface PrometheusServer {
  url: string
  child: ResultPromise
  /** Its stdout and stderr so far (for failure messages). */
  output(): string
  stop(): Promise<void>
}

/**
 * Starts Prometheus with its data under `dir`, one scrape job per key of `jobs`, each discovering
 * its `host:port` targets through a `file_sd` file (`<dir>/<job>.json`). Scrapes every second.
 */
export async function startPrometheus(
  dir: string,
  jobs: Record<string, string[]>,
): Promise<PrometheusServer> {
  const lines = ['global: { scrape_interval: 1s, scrape_timeout: 900ms }', 'scrape_configs:']
  for (const [job, targets] of Object.entries(jobs)) {
    const file = join(dir, `${job}.json`)
    await writeFile(file, JSON.stringify([{ targets }]))
    lines.push(`  - job_name: ${job}`, `    file_sd_configs: [{ files: [${JSON.stringify(file)}] }]`)
  }
  const config = join(dir, 'prometheus.yml')
  await writeFile(config, lines.join('\n') + '\n')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = execa(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { reject: false, all: true, stdin: 'ignore', cleanup: true },
  )
  let output = ''
  child.all?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  let exited = false
  void child.then(() => (exited = true))
  const server: PrometheusServer = {
    url,
    child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM')
      await child
    },
  }
  await pollUntil(
    async () => {
      if (exited) throw new Error(`prometheus exited before it was ready:\n${output}`)
      const res = await fetch(`${url}/-/ready`).catch(() => null)
      return res?.status === 200 ? true : undefined
    },
    { timeoutMs: startupBudgetMs(), everyMs: 100, what: `prometheus on ${url} to be ready` },
  )
  return server
}

/**
 * Waits until Prometheus has scraped every target of `job` with the expected outcome (`up` targets
 * healthy, `down` ones failing) and its query API has an `up{job=…}` series for each: from then on
 * both the targets API and a PromQL query see the whole job.
 */
export async function waitForScrapes(
  prometheus: PrometheusServer,
  job: string,
  expected: { up: number; down: number },
): Promise<void> {
  const want = [...Array<string>(expected.down).fill('down'), ...Array<string>(expected.up).fill('up')].join()
  await pollUntil(
    async () => {
      const res = await fetch(`${prometheus.url}/api/v1/targets?state=active`).catch(() => null)
      if (!res?.ok) return undefined
      const body = (await res.json()) as {
        data: { activeTargets: { health: string; labels: Record<string, string> }[] }
      }
      const health = body.data.activeTargets.filter((t) => t.labels.job === job).map((t) => t.health)
      return health.sort().join() === want ? true : undefined
    },
    {
      timeoutMs: startupBudgetMs() + POLL_TIMEOUT_MS,
      everyMs: 100,
      what: `Prometheus to scrape job ${job} (${expected.up} up, ${expected.down} down)`,
    },
  )
  const query = encodeURIComponent(`up{job=${JSON.stringify(job)}}`)
  await pollUntil(
    async () => {
      const res = await fetch(`${prometheus.url}/api/v1/query?query=${query}`).catch(() => null)
      if (!res?.ok) return undefined
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } }
      const values = body.data.result.map((r) => r.value[1]).sort()
      return values.join() === want.replace(/down/g, '0').replace(/up/g, '1') ? true : undefined
    },
    { timeoutMs: POLL_TIMEOUT_MS, everyMs: 100, what: `up{job="${job}"} to have a series per target` },
  )
}
