/**
 * The HTML report of a real run (the compiled CLI against the built-in sandbox), opened from disk in
 * a real headless Chromium (Debian `chromium`, which `.ci/run` installs; driven by playwright-core):
 * it loads with no console error and no request but the file itself, the chart is drawn (the
 * screenshot where it sits has the three series and the phase shading in it), and it prints (a PDF,
 * the chart within the page width, a page break between experiments).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inflateSync } from 'node:zlib'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderHtml } from '../reports/html.js'
import type { TimeseriesPoint } from '../src/record.js'
import { REPORTS, fixture, latestReport } from './run-helpers.js'
import { guideExperiment, runRecord } from './report-fixtures.js'
import {
  assertBuilt,
  fast,
  runBudgetMs,
  runChaos,
  startupBudgetMs,
  stopStragglers,
  tempCwd,
} from './support/index.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
/** A4 at 96 px per inch, less the report's `@page` margins (14 mm each side). */
const PRINTABLE = { width: ((210 - 28) / 25.4) * 96, height: ((297 - 28) / 25.4) * 96 }

/** An RGBA image decoded from a PNG (8-bit RGB or RGBA, as Chromium writes screenshots). */
interface Image {
  width: number
  height: number
  rgba: Uint8Array
}

/** Decodes a PNG with node:zlib: chunks, inflate, then the five per-row filters. */
function decodePng(png: Buffer): Image {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    const data = png.subarray(at + 8, at + 8 + length)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      expect(data[8], 'bit depth').toBe(8)
      expect([2, 6], 'colour type RGB or RGBA').toContain(data[9])
      expect(data[12], 'not interlaced').toBe(0)
      channels = data[9] === 6 ? 4 : 3
    } else if (type === 'IDAT') idat.push(data)
    at += 12 + length
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const out = new Uint8Array(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    if (filter > 4) throw new Error(`PNG row ${y}: unknown filter ${filter}`)
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!
      const a = x >= channels ? out[y * stride + x - channels]! : 0
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0
      const p = a + b - c
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c
      const predictor =
        filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth
      out[y * stride + x] = (value + predictor) & 0xff
    }
  }
  const rgba = new Uint8Array(width * height * 4)
  for (let i = 0; i < width * height; i++) {
    rgba.set(out.subarray(i * channels, i * channels + 3), i * 4)
    rgba[i * 4 + 3] = channels === 4 ? out[i * channels + 3]! : 255
  }
  return { width, height, rgba }
}

/** Pixels within `tolerance` (per channel) of the colour `#rrggbb`. */
function pixelsNear(image: Image, hex: string, tolerance: number): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
  let n = 0
  for (let i = 0; i < image.rgba.length; i += 4) {
    if (
      Math.abs(image.rgba[i]! - r!) <= tolerance &&
      Math.abs(image.rgba[i + 1]! - g!) <= tolerance &&
      Math.abs(image.rgba[i + 2]! - b!) <= tolerance
    )
      n++
  }
  return n
}

/** Pages of a PDF: its page objects (`/Type /Page`, not `/Pages`). */
function pdfPages(pdf: Buffer): number {
  return pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g)?.length ?? 0
}

/** A page that records console errors, page errors and every request it makes. */
async function openReport(context: BrowserContext, file: string) {
  const page = await context.newPage()
  const errors: string[] = []
  const requests: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('pageerror', (err) => errors.push(String(err)))
  page.on('request', (r) => requests.push(r.url()))
  const url = pathToFileURL(file).href
  const response = await page.goto(url, { waitUntil: 'load' })
  expect(response?.ok(), `loading ${url}`).toBe(true)
  return { page, errors, requests, url }
}

let workdir: { dir: string; cleanup: () => Promise<void> }
let profile: string
let context: BrowserContext
let reportsDir: string
let runId: string
let page: Page

beforeAll(
  async () => {
    assertBuilt()
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian chromium (apt-get install chromium; .ci/run does)`,
      )
    workdir = await tempCwd()
    profile = await mkdtemp(join(tmpdir(), 'chaos-chromium-'))
    // A failing check: the digest at the top then has something to show.
    const result = await runChaos(['run', fixture('e2e_failing_check'), ...fast()], { cwd: workdir.dir })
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1)
    reportsDir = join(workdir.dir, REPORTS)
    runId = (await latestReport(workdir.dir)).run_id
    // A fresh profile per run, so no state of another browser session leaks in.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1100, height: 900 },
    })
  },
  runBudgetMs(fast()) + startupBudgetMs(),
)

afterAll(async () => {
  await context?.close()
  await stopStragglers()
  await workdir?.cleanup()
  if (profile) await rm(profile, { recursive: true, force: true })
})

describe('the HTML report of a real run, in headless Chromium', () => {
  it('is written as <stem>.html beside .json and .txt, and as latest.html; `report show --format html` prints it', async () => {
    const names = await readdir(reportsDir)
    const stem = names.find((n) => n.endsWith('.json') && n !== 'latest.json')!.replace(/\.json$/, '')
    expect(names).toEqual(expect.arrayContaining([`${stem}.html`, `${stem}.txt`, 'latest.html']))
    const html = await readFile(join(reportsDir, `${stem}.html`), 'utf8')
    expect(await readFile(join(reportsDir, 'latest.html'), 'utf8')).toBe(html)
    expect(html).toContain(runId)
    const shown = await runChaos(['report', 'show', runId, '--format', 'html'], { cwd: workdir.dir })
    expect(shown.exitCode, String(shown.stderr)).toBe(0)
    expect(shown.stdout).toBe(html.trimEnd())
  })

  it('loads with no console error and no request other than the file itself', async () => {
    const opened = await openReport(context, join(reportsDir, 'latest.html'))
    page = opened.page
    expect(opened.errors).toEqual([])
    expect(opened.requests).toEqual([opened.url])
    await expect(page.title()).resolves.toBe(`Chaos run ${runId}: FAILED`)
    // The digest is on top: the verdict and the failed check with actual vs expected.
    const digest = await page.locator('.digest').innerText()
    expect(digest).toContain('FAILED')
    expect(digest).toMatch(
      /p95 stays under 1 ms: latency_p95_ms < 1ms during: actual \d+(\.\d+)?ms, expected < 1ms/,
    )
  })

  it('draws the timeline: the screenshot where the chart sits shows the three series and the phase shading', async () => {
    const chart = page.locator('figure.chart svg').first()
    const box = await chart.boundingBox()
    expect(box!.width).toBeGreaterThan(600)
    expect(box!.height).toBeGreaterThan(250)
    const image = decodePng(await chart.screenshot())
    const area = image.width * image.height
    // Colours of reports/html.ts: the series strokes (anti-aliased, so a tolerance) and the bands.
    for (const [what, hex] of [
      ['throughput', '#2563eb'],
      ['error rate', '#dc2626'],
      ['p95', '#7c3aed'],
    ] as const)
      expect(pixelsNear(image, hex, 40), `${what} line`).toBeGreaterThan(300)
    for (const [phase, hex] of [
      ['baseline', '#e8eef6'],
      ['injection', '#fbe0d6'],
      ['recovery', '#dff1e3'],
    ] as const)
      expect(pixelsNear(image, hex, 4) / area, `${phase} band`).toBeGreaterThan(0.03)
    expect(pixelsNear(image, '#ffffff', 0) / area, 'mostly drawn, not blank').toBeLessThan(0.5)
  })

  it('prints: a PDF of at least one page, with the chart within the width of an A4 page', async () => {
    await page.emulateMedia({ media: 'print' })
    await page.setViewportSize({ width: Math.floor(PRINTABLE.width), height: Math.floor(PRINTABLE.height) })
    const box = (await page.locator('figure.chart').first().boundingBox())!
    expect(box.x).toBeGreaterThanOrEqual(0)
    expect(box.x + box.width).toBeLessThanOrEqual(PRINTABLE.width)
    expect(box.height, 'the chart fits on one page').toBeLessThan(PRINTABLE.height)
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      Math.ceil(PRINTABLE.width),
    )
    const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true })
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
    expect(pdf.length).toBeGreaterThan(10_000)
    expect(pdfPages(pdf)).toBeGreaterThanOrEqual(1)
  })

  it('starts each further experiment on a new printed page', async () => {
    const series = Array.from({ length: 20 }, (_, t): TimeseriesPoint => ({
      t,
      phase: t < 5 ? 'BASELINE' : t < 15 ? 'DURING' : 'RECOVERY',
      requests: 20,
      errors: t >= 5 && t < 15 ? 4 : 0,
      latency_p95_ms: 40,
      faults_injected: null,
      breaker_state: null,
    }))
    const file = join(workdir.dir, 'two.html')
    const record = runRecord({
      experiments: [
        guideExperiment({ timeseries: series }),
        guideExperiment({ id: 'second', timeseries: series }),
      ],
    })
    await writeFile(file, renderHtml(record))
    const opened = await openReport(context, file)
    expect(opened.errors).toEqual([])
    await opened.page.emulateMedia({ media: 'print' })
    // Evaluated in the page (the test's own TypeScript has no DOM types).
    const breaks = await opened.page.evaluate<string[]>(
      "[...document.querySelectorAll('section.experiment')].map((s) => getComputedStyle(s).breakBefore)",
    )
    expect(breaks).toEqual(['auto', 'page'])
    const pdf = await opened.page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true })
    expect(pdfPages(pdf)).toBeGreaterThanOrEqual(2)
    await opened.page.close()
  })
})
