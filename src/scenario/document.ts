/**
 * Validation of YAML/JSON documents (scenario files, the config file) against a zod schema, with
 * every problem pointed at its line and column in the source: `file:line:col field: message (hint: ...)`.
 * JSON is parsed with the YAML parser (JSON is YAML 1.2), so both formats get positions.
 */
import {
  isCollection,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  Parser,
  visit,
  type Document,
  type Node,
} from 'yaml'
import type { z } from 'zod'
import type { Problem } from './files.js'

export { formatProblem, type Problem } from './files.js'

export type Path = ReadonlyArray<string | number>

/** `fault_config.latency_ms`, `checks[2].check`. */
export function formatPath(path: Path): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${part}` : part
  }
  return out
}

/** A schema problem before it is positioned: where it is, what is wrong, and how to point at it. */
export interface RawProblem {
  path: Path
  message: string
  hint?: string
  /** Point at the key of `path` (unknown keys) rather than its value. */
  atKey?: boolean
  /** The field is absent: point at its parent. */
  missing?: boolean
  /** 1-based column inside the string value (check grammar errors). */
  column?: number
  /** The zod issue code, for hint lookups. */
  code: string
}

/** Adds a domain-specific hint to a problem that has none (or a better one). */
export type HintFor = (problem: RawProblem, data: unknown) => string | undefined

/** A parsed document: its data, its problems, and a way to position further problems in it. */
export interface ValidatedDocument<T> {
  value?: T
  data: unknown
  problems: Problem[]
  /** Positions a problem found after schema validation (e.g. a duplicate id). */
  locate(problem: Omit<RawProblem, 'code'> & { code?: string }): Problem
}

const zodMessages = /^(Invalid input|Too big|Too small|Invalid string|Invalid option)/

/** Deepest nesting of mappings and lists accepted; scenario and config files nest four levels at most. */
export const MAX_NESTING_DEPTH = 64

/** Aliases (`*name`) expanded at most this many times in all; more is a "billion laughs" bomb. */
export const MAX_ALIAS_COUNT = 100

const tooDeepHint = 'scenario and config files nest a few levels deep; flatten the structure'

/** Parses `text` as YAML or JSON and validates it against `schema`, collecting every problem. */
export function validateDocument<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  options: { hintFor?: HintFor; what?: string } = {},
): ValidatedDocument<z.output<S>> {
  const lineCounter = new LineCounter()
  // Measured on the syntax tree first (which also counts the lines): composing recurses per level.
  const deepAt = offsetTooDeep(text, lineCounter)
  const doc = parseDocument(deepAt === undefined ? text : '', { prettyErrors: false, uniqueKeys: true })
  const pos = (offset: number) => lineCounter.linePos(Math.max(0, Math.min(offset, text.length)))
  const locate = (p: Omit<RawProblem, 'code'>): Problem => {
    const at = pos(offsetFor(doc, p))
    const problem: Problem = {
      file,
      line: at.line,
      col: at.col,
      field: formatPath(p.path),
      message: p.message,
    }
    if (p.hint) problem.hint = p.hint
    return problem
  }

  if (deepAt !== undefined) {
    const at = pos(deepAt)
    const message = `nested more than ${MAX_NESTING_DEPTH} levels deep`
    const problem: Problem = { file, line: at.line, col: at.col, field: '', message, hint: tooDeepHint }
    return { data: undefined, problems: [problem], locate }
  }

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((err): Problem => {
      const at = pos(err.pos[0])
      const problem = { file, line: at.line, col: at.col, field: '' }
      // The parser recurses per nesting level and reports running out of stack as an error.
      if (/call stack/i.test(err.message)) {
        return {
          ...problem,
          message: `nested too deeply to parse (over ${MAX_NESTING_DEPTH} levels)`,
          hint: tooDeepHint,
        }
      }
      if (err.code === 'DUPLICATE_KEY') {
        const key = duplicateKeyAt(text, err.pos[0])
        if (key)
          return {
            ...problem,
            field: formatPath(key.path),
            message: `duplicate key "${key.name}"`,
            hint: syntaxHint(err.code),
          }
      }
      return { ...problem, message: `YAML syntax error: ${err.message}`, hint: syntaxHint(err.code) }
    })
    return { data: undefined, problems, locate }
  }

  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown
  } catch (err) {
    // yaml throws a ReferenceError for an alias bomb ("Excessive alias count ...") or a bad alias.
    if (!(err instanceof ReferenceError || err instanceof RangeError)) throw err
    const excessive = /excessive alias count/i.test(err.message)
    const problem = locate({
      path: firstAliasPath(doc) ?? [],
      message: excessive
        ? `aliases expand to more than ${MAX_ALIAS_COUNT} copies (a resource exhaustion "alias bomb")`
        : `cannot read the document: ${err.message}`,
      hint: excessive
        ? 'write the values out instead of nesting aliases (*name) of aliases'
        : 'check the anchors (&name) and aliases (*name)',
    })
    return { data: undefined, problems: [problem], locate }
  }
  if (data === null || data === undefined) {
    const problem: Problem = {
      file,
      line: 1,
      col: 1,
      field: '',
      message: 'file is empty',
      hint: `write ${options.what ?? 'a mapping'} (see docs/scenario-format.md)`,
    }
    return { data, problems: [problem], locate }
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    const problem = locate({
      path: [],
      message: `expected a mapping of fields, got ${describe(data)}`,
      hint: `a file holds ${options.what ?? 'one mapping'}`,
    })
    return { data, problems: [problem], locate }
  }

  const result = schema.safeParse(data)
  if (result.success) return { value: result.data, data, problems: [], locate }
  const raw = result.error.issues.flatMap((issue) => explainIssue(issue, [], data))
  for (const p of raw) {
    if (p.code !== 'unrecognized_keys') continue
    const known = knownKeys(schema, p.path.slice(0, -1), data)
    const guess = closest(String(p.path[p.path.length - 1]), known)
    p.hint = guess
      ? `did you mean "${guess}"?`
      : known.length
        ? `allowed here: ${known.join(', ')}`
        : undefined
  }
  const problems = raw.map((p) => {
    const hint = options.hintFor?.(p, data) ?? p.hint
    return locate(hint === undefined ? p : { ...p, hint })
  })
  problems.sort((a, b) => a.line - b.line || a.col - b.col)
  return { data, problems, locate }
}

/** Turns a zod issue into plain-language problems; unions pick the branch matching the input's type. */
export function explainIssue(issue: z.core.$ZodIssue, prefix: Path, data: unknown): RawProblem[] {
  const path: Path = [...prefix, ...(issue.path as Array<string | number>)]
  const value = getIn(data, path)
  const keep = (message: string) => (zodMessages.test(issue.message) ? message : issue.message)
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        atKey: true,
        code: issue.code,
        message: `unknown field "${key}"`,
      }))
    case 'invalid_union': {
      const disc = (issue as { discriminator?: string }).discriminator
      if (disc !== undefined) {
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String)
        // zod puts the discriminator in the path; a missing one is pointed at its parent.
        const discValue = getIn(data, path)
        if (discValue === undefined) {
          return [
            {
              path,
              missing: true,
              code: 'invalid_type',
              message: `missing required field "${disc}"`,
              hint: `one of ${options.join(', ')}`,
            },
          ]
        }
        const text = typeof discValue === 'string' ? discValue : JSON.stringify(discValue)
        const guess = closest(text, options)
        return [
          {
            path,
            code: 'invalid_value',
            message: `"${text}" is not a valid ${disc}`,
            hint: guess
              ? `did you mean ${guess}? (one of ${options.join(', ')})`
              : `one of ${options.join(', ')}`,
          },
        ]
      }
      // Keep the branch whose type fits the input, so the user sees that branch's real complaint.
      const fitting = issue.errors.filter(
        (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
      )
      if (fitting.length > 0) return fitting[0]!.flatMap((i) => explainIssue(i, path, data))
      const expected = issue.errors
        .flatMap((branch) => branch.map((i) => (i.code === 'invalid_type' ? i.expected : undefined)))
        .filter((e): e is string => e !== undefined)
      return [
        {
          path,
          code: issue.code,
          message: `expected ${expected.map(typeName).join(' or ')}, got ${describe(value)}`,
        },
      ]
    }
    case 'invalid_type':
      if (value === undefined)
        return [{ path, missing: true, code: issue.code, message: 'missing required field' }]
      return [
        { path, code: issue.code, message: `expected ${typeName(issue.expected)}, got ${describe(value)}` },
      ]
    case 'too_big': {
      const op = issue.inclusive ? 'at most' : 'less than'
      const what = issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : ''
      return [{ path, code: issue.code, message: keep(`must be ${op} ${String(issue.maximum)}${what}`) }]
    }
    case 'too_small': {
      if (issue.origin === 'string' && Number(issue.minimum) === 1)
        return [{ path, code: issue.code, message: keep('must not be empty') }]
      if (issue.origin === 'array')
        return [{ path, code: issue.code, message: keep(`needs at least ${String(issue.minimum)} entries`) }]
      const op = issue.inclusive ? 'at least' : 'more than'
      return [{ path, code: issue.code, message: keep(`must be ${op} ${String(issue.minimum)}`) }]
    }
    case 'invalid_value': {
      const options = issue.values.map(String)
      const guess = closest(String(value), options)
      return [
        {
          path,
          code: issue.code,
          message: `${JSON.stringify(value)} is not one of ${options.join(', ')}`,
          ...(guess ? { hint: `did you mean ${guess}?` } : {}),
        },
      ]
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { column?: unknown; hint?: unknown }
      const problem: RawProblem = { path, code: issue.code, message: issue.message }
      if (typeof params.column === 'number') problem.column = params.column
      if (typeof params.hint === 'string') problem.hint = params.hint
      return [problem]
    }
    default:
      return [{ path, code: issue.code, message: issue.message }]
  }
}

interface SchemaDef {
  type: string
  shape?: Record<string, { _zod: { def: SchemaDef } }>
  element?: { _zod: { def: SchemaDef } }
  innerType?: { _zod: { def: SchemaDef } }
  in?: { _zod: { def: SchemaDef } }
  options?: Array<{ _zod: { def: SchemaDef } }>
  discriminator?: string
  values?: unknown[]
}

/** Unwraps optional/default/pipe wrappers down to the schema that describes the data's shape. */
function unwrap(def: SchemaDef, data: unknown): SchemaDef | undefined {
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return def.innerType && unwrap(def.innerType._zod.def, data)
    case 'pipe':
      return def.in && unwrap(def.in._zod.def, data)
    case 'union': {
      const objects = (def.options ?? [])
        .map((o) => unwrap(o._zod.def, data))
        .filter((o): o is SchemaDef => o?.type === 'object')
      if (def.discriminator && data && typeof data === 'object') {
        const tag = (data as Record<string, unknown>)[def.discriminator]
        const match = objects.find((o) => o.shape?.[def.discriminator!]?._zod.def.values?.includes(tag))
        if (match) return match
      }
      return objects[0]
    }
    default:
      return def
  }
}

/** Field names the schema allows in the mapping at `path` (for "did you mean" on unknown keys). */
export function knownKeys(schema: z.ZodType, path: Path, data: unknown): string[] {
  let def = unwrap((schema as unknown as { _zod: { def: SchemaDef } })._zod.def, data)
  for (let i = 0; i < path.length && def; i++) {
    const part = path[i]!
    const child =
      def.type === 'object' ? def.shape?.[String(part)] : def.type === 'array' ? def.element : undefined
    def = child && unwrap(child._zod.def, getIn(data, path.slice(0, i + 1)))
  }
  return def?.type === 'object' && def.shape ? Object.keys(def.shape).filter((k) => !k.startsWith('$')) : []
}

type CstToken = ReturnType<Parser['parse']> extends Generator<infer T> ? T : never

/**
 * The offset of the first collection nested deeper than {@link MAX_NESTING_DEPTH} in `text`, from
 * yaml's concrete syntax tree: its parser keeps an explicit stack, and so does this walk, so a
 * 5,000-deep file is measured without running out of call stack. Counts the lines into `lineCounter`.
 */
function offsetTooDeep(text: string, lineCounter: LineCounter): number | undefined {
  const stack: Array<{ token: CstToken | undefined; depth: number }> = []
  for (const token of new Parser(lineCounter.addNewLine).parse(text)) stack.push({ token, depth: 0 })
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!
    if (!token) continue
    if (token.type === 'document') stack.push({ token: token.value, depth })
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_NESTING_DEPTH) return token.offset
      for (const item of token.items) {
        stack.push({ token: item.key ?? undefined, depth: depth + 1 })
        stack.push({ token: item.value, depth: depth + 1 })
      }
    }
  }
  return undefined
}

/** The path of the first alias (`*name`) in the document, to point an alias problem at. */
function firstAliasPath(doc: Document): Path | undefined {
  let found: Path | undefined
  visit(doc, {
    Alias(_key, node, ancestors) {
      found = pathOf([...ancestors, node])
      return visit.BREAK
    },
  })
  return found
}

/** The path a node has, from the ancestors `visit` passes (pairs give keys, sequences indices). */
function pathOf(ancestors: readonly unknown[]): Path {
  const path: Array<string | number> = []
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i]
    if (isPair(a)) path.push(isScalar(a.key) ? String(a.key.value) : '?')
    else if (isCollection(a) && !isMap(a)) {
      const child = ancestors[i + 1]
      if (child !== undefined) path.push(a.items.indexOf(child))
    }
  }
  return path
}

/**
 * The name and path of the duplicate key starting at `offset`: the text parsed again with
 * duplicates allowed, and the pair whose key starts there found.
 */
function duplicateKeyAt(text: string, offset: number): { name: string; path: Path } | undefined {
  let found: { name: string; path: Path } | undefined
  const doc = parseDocument(text, { uniqueKeys: false })
  if (doc.errors.length > 0) return undefined
  visit(doc, {
    Pair(_key, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined
      found = { name: String(pair.key.value), path: pathOf([...ancestors, pair]) }
      return visit.BREAK
    },
  })
  return found
}

/** The source offset a problem points at. */
function offsetFor(doc: Document, p: Omit<RawProblem, 'code'>): number {
  if (p.atKey || p.missing) {
    // Unknown keys: the key itself. Missing fields: the key of the object that lacks them.
    const keyPath = p.missing ? p.path.slice(0, -1) : p.path
    const keyNode = keyNodeAt(doc, keyPath)
    if (keyNode?.range) return keyNode.range[0]
    if (p.missing) return nearestNode(doc, keyPath)?.range?.[0] ?? 0
  }
  const node = nearestNode(doc, p.path)
  const start = node?.range?.[0] ?? 0
  if (p.column !== undefined && node && isScalar(node) && node.range) {
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE'
    if (quoted || node.type === 'PLAIN') return start + (quoted ? 1 : 0) + p.column - 1
  }
  return start
}

/** The node at `path`, or the deepest existing ancestor. */
function nearestNode(doc: Document, path: Path): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)
    if (node && typeof node === 'object' && 'range' in node) return node as Node
  }
  return undefined
}

/** The key node of the last element of `path` (a key in a mapping). */
function keyNodeAt(doc: Document, path: Path): Node | undefined {
  if (path.length === 0) return undefined
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)
  if (!isMap(parent)) return undefined
  const last = path[path.length - 1]
  const pair = parent.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === last)
  return pair && isScalar(pair.key) ? pair.key : undefined
}

/** Reads a value by path from plain data. */
export function getIn(data: unknown, path: Path): unknown {
  let cur = data
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[part]
  }
  return cur
}

const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
}

/** zod's type names in plain words. */
function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected
}

/** `a number (12)`, `a string ("2h")`, `a list`, `nothing`. */
export function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'string')
    return `a string (${JSON.stringify(value.length > 30 ? value.slice(0, 30) + '…' : value)})`
  if (typeof value === 'number') return `a number (${value})`
  if (typeof value === 'boolean') return `a boolean (${value})`
  if (typeof value === 'object') return 'a mapping'
  return typeof value
}

function syntaxHint(code: string): string {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs'
    case 'DUPLICATE_KEY':
      return 'each field may appear once; remove one of them'
    case 'MULTIPLE_DOCS':
      return 'one scenario per file; split the documents into separate files'
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and the closing bracket or quote'
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'put a nested mapping on its own indented lines, or quote a value containing ": "'
    default:
      return 'check the YAML syntax at this position (quote values containing ": " or "#")'
  }
}

/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]!
}

/** The candidate closest to `word`, when close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  const limit = Math.max(2, Math.floor(w.length / 3))
  if (best !== undefined && bestDistance <= limit) return best
  // An abbreviation (`min_avail`) is a typo too.
  return w.length >= 3 ? candidates.find((c) => c.toLowerCase().startsWith(w)) : undefined
}
