/**
 * Boxed tables that fit the terminal. Drawn as cli-table3 draws them (one space of padding, the
 * same box characters), by hand: cli-table3's first layout cost `chaos list` ~30 ms of start-up,
 * and it cannot drop a column. When the natural layout is wider than `width`, the table first uses
 * the columns' short headings, then narrows the columns that may wrap (down to their minimum), then
 * drops the least important columns, until every line fits. In detail: short headings and short
 * cells, then without the expendable columns, then narrowing (the column with the most room above its
 * minimum first), then dropping the lowest priority and narrowing again.
 */
import { stripVTControlCharacters } from 'node:util'

/** One column of a {@link fitTable}. */
export interface TableColumn {
  /** The heading (may carry colour). */
  head: string
  /** A shorter heading for narrow terminals. */
  short?: string
  /** A shorter form of a cell (given without colour) for narrow terminals, e.g. `SINGLE_REQUEST` → `request`. */
  shortCell?: (plain: string) => string
  /** Dropped as soon as the table is too wide, before any column is narrowed (it says little). */
  expendable?: boolean
  /**
   * Which columns go first when the table is too wide: the lowest priority is dropped first; a
   * column without a priority is never dropped.
   */
  priority?: number
  /** The narrowest this column may become; its cells then wrap (at `_`, `-`, `/`, space) or are cut. */
  min?: number
}

/** Options of {@link fitTable}. */
export interface TableOptions {
  /** The columns the table may use; unlimited when absent (the natural layout, e.g. in a file). */
  width?: number
  /** A rule between body rows, as cli-table3 draws by default. */
  rowRules?: boolean
}

/** Visible width: colour codes take no columns. Cells are ASCII or single-width symbols. */
export function visibleWidth(text: string): number {
  return stripVTControlCharacters(text).length
}

/**
 * `text` as lines of at most `width` visible characters, broken after `_`, `-`, `/` or a space
 * where possible. Colour is dropped from a cell that has to wrap (a code cut in two would bleed).
 */
export function wrapCell(text: string, width: number): string[] {
  if (visibleWidth(text) <= width) return [text]
  let rest = stripVTControlCharacters(text)
  const lines: string[] = []
  while (rest.length > width) {
    const window = rest.slice(0, width)
    const at = Math.max(window.lastIndexOf('_'), window.lastIndexOf('-'), window.lastIndexOf('/'))
    const space = window.lastIndexOf(' ')
    const cut = space > 0 ? space : at > 0 ? at + 1 : width
    lines.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  if (rest) lines.push(rest)
  return lines
}

/** The width the box of `widths` takes: borders plus one space of padding each side. */
function boxWidth(widths: readonly number[]): number {
  return widths.reduce((sum, w) => sum + w + 3, 1)
}

interface Layout {
  shown: number[]
  heads: string[]
  widths: number[]
  /** The rows' cells, short forms applied when the layout uses them. */
  cells: string[][]
}

/** Chooses the headings, cells, widths and columns shown; see the module comment for the order. */
function layout(
  columns: readonly TableColumn[],
  rows: ReadonlyArray<readonly string[]>,
  width: number | undefined,
): Layout {
  const attempt = (shown: number[], short: boolean): Layout => {
    const heads = shown.map((i) => (short ? (columns[i]!.short ?? columns[i]!.head) : columns[i]!.head))
    const cells = rows.map((r) =>
      shown.map((i) => {
        const cell = r[i] ?? ''
        const shorten = columns[i]!.shortCell
        return short && shorten ? shorten(stripVTControlCharacters(cell)) : cell
      }),
    )
    const widths = heads.map((h, k) => Math.max(visibleWidth(h), ...cells.map((r) => visibleWidth(r[k]!))))
    return { shown, heads, widths, cells }
  }
  const all = columns.map((_, i) => i)
  const full = attempt(all, false)
  if (width === undefined || boxWidth(full.widths) <= width) return full
  const short = attempt(all, true)
  if (boxWidth(short.widths) <= width) return short
  let shown = all.filter((i) => !columns[i]!.expendable)
  for (;;) {
    const next = attempt(shown, true)
    // Narrow the column with the most room above its minimum, one character at a time.
    for (;;) {
      if (boxWidth(next.widths) <= width) return next
      let pick = -1
      let room = 0
      next.shown.forEach((i, k) => {
        const min = Math.max(columns[i]!.min ?? Infinity, visibleWidth(next.heads[k]!))
        if (next.widths[k]! - min > room) {
          room = next.widths[k]! - min
          pick = k
        }
      })
      if (pick < 0) break
      next.widths[pick]! -= 1
    }
    const droppable = shown.filter((i) => columns[i]!.priority !== undefined)
    if (droppable.length === 0) return next
    const drop = droppable.reduce((a, b) => (columns[b]!.priority! < columns[a]!.priority! ? b : a))
    shown = shown.filter((i) => i !== drop)
  }
}

/**
 * The rows as a boxed table: exactly cli-table3's drawing at the natural width; narrowed (short
 * headings, wrapped cells, dropped columns) to `options.width` when it is wider.
 */
export function fitTable(
  columns: readonly TableColumn[],
  rows: ReadonlyArray<readonly string[]>,
  options: TableOptions = {},
): string {
  const { heads, widths, cells } = layout(columns, rows, options.width)
  const rule = (left: string, mid: string, right: string) =>
    left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right
  const line = (cells: readonly string[]) => {
    const wrapped = cells.map((cell, k) => wrapCell(cell, widths[k]!))
    const height = Math.max(1, ...wrapped.map((w) => w.length))
    return Array.from(
      { length: height },
      (_, n) =>
        '│' +
        widths
          .map((w, k) => {
            const text = wrapped[k]![n] ?? ''
            return ` ${text}${' '.repeat(Math.max(0, w - visibleWidth(text)))} `
          })
          .join('│') +
        '│',
    ).join('\n')
  }
  const body = cells.map(line)
  const between = options.rowRules ? rule('├', '┼', '┤') : null
  const lines = [rule('┌', '┬', '┐'), line(heads)]
  body.forEach((row) => {
    if (between) lines.push(between)
    lines.push(row)
  })
  lines.push(rule('└', '┴', '┘'))
  return lines.join('\n')
}
