/**
 * deploy/kubernetes/ without a cluster: every YAML document is checked against the Kubernetes API
 * schema (kubernetes-models: types, enums, required fields) and, strictly, for fields the API does
 * not have (kubernetes-models accepts unknown fields, and so does `kubectl apply` unless the
 * server's field validation is strict: a typo such as `concurrencypolicy` would silently drop the
 * setting). The strict walk follows the models' own TypeScript declarations (generated from the
 * same OpenAPI spec as their validators) with the TypeScript checker.
 *
 * Then the GameDay CronJob's promises (issue 13): its chaos args parse as `chaos gameday` flags,
 * discovery names the headless Service, the token comes from a Secret, the scenarios ConfigMap is
 * mounted and passed with --scenarios, results go to the Pushgateway and reports to a volume; and
 * the two ConfigMaps, laid out as the kubelet mounts them, load as the GameDay loads them.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Parser, type Interfaces } from '@oclif/core'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import Gameday from '../commands/gameday.js'
import Proxy from '../commands/proxy.js'
import Sandbox from '../commands/sandbox.js'
import { parseRouteSpec, routeSetProblems } from '../src/proxy/routes.js'
import { planGameday, type GamedayFlags } from '../src/cli/gameday.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEPLOY = join(ROOT, 'deploy', 'kubernetes')
/** Shown in the manifests as an example only; created with kubectl, never applied from git. */
const SECRET_EXAMPLE = 'token-secret.example.yaml'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Obj = { [key: string]: Json }

interface Manifest {
  file: string
  index: number
  doc: Obj
}

function obj(value: Json | undefined, what: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${what}: not a mapping`)
  return value
}

function list(value: Json | undefined, what: string): Json[] {
  if (!Array.isArray(value)) throw new Error(`${what}: not a list`)
  return value
}

function str(value: Json | undefined, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: not a string`)
  return value
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort()
}

async function loadManifests(): Promise<{ objects: Manifest[]; kustomization: Obj }> {
  const objects: Manifest[] = []
  let kustomization: Obj | undefined
  for (const file of await yamlFiles(DEPLOY)) {
    const docs = parseAllDocuments(await readFile(join(DEPLOY, file), 'utf8'))
    if (!Array.isArray(docs)) throw new Error(`${file}: empty`)
    docs.forEach((d, index) => {
      if (d.errors.length > 0)
        throw new Error(`${file}#${index}: ${d.errors.map((e) => e.message).join('; ')}`)
      const doc = obj(d.toJS() as Json, `${file}#${index}`)
      if (doc.kind === 'Kustomization') kustomization = doc
      else objects.push({ file, index, doc })
    })
  }
  if (!kustomization) throw new Error('no kustomization.yaml')
  return { objects, kustomization }
}

/** `kubernetes-models/<group/version>/<Kind>`: core objects (`apiVersion: v1`) live under `v1/`. */
function modelModule(doc: Obj): string {
  return `kubernetes-models/${str(doc.apiVersion, 'apiVersion')}/${str(doc.kind, 'kind')}`
}

/** Runs the model's schema validator (kubernetes-models): types, enums and required fields. */
async function validateWithModel(doc: Obj): Promise<void> {
  const module = (await import(modelModule(doc))) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >
  const kind = str(doc.kind, 'kind')
  const Model = module[kind]
  if (!Model) throw new Error(`${modelModule(doc)} has no ${kind}`)
  new Model(doc).validate()
}

/**
 * The strict half: which fields of a document the Kubernetes API does not know, by walking it
 * against the model's declared interface (`I<Kind>`) with the TypeScript checker. Index signatures
 * (labels, annotations, ConfigMap data) accept any key; `any` fields are not walked.
 */
class StrictFields {
  private readonly checker: ts.TypeChecker
  private readonly roots = new Map<string, ts.Type>()

  constructor(modules: readonly string[]) {
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    }
    const host = ts.createCompilerHost(options)
    const from = fileURLToPath(import.meta.url)
    const files = new Map<string, string>()
    for (const m of modules) {
      const resolved = ts.resolveModuleName(
        m,
        from,
        options,
        host,
        undefined,
        undefined,
        ts.ModuleKind.ESNext,
      )
      const file = resolved.resolvedModule?.resolvedFileName
      if (!file) throw new Error(`cannot resolve the declarations of ${m}`)
      files.set(m, file)
    }
    const program = ts.createProgram([...files.values()], options, host)
    this.checker = program.getTypeChecker()
    for (const [m, file] of files) {
      const source = program.getSourceFile(file)
      const symbol = source && this.checker.getSymbolAtLocation(source)
      const kind = m.slice(m.lastIndexOf('/') + 1)
      const iface = symbol && this.checker.getExportsOfModule(symbol).find((s) => s.name === `I${kind}`)
      if (!iface) throw new Error(`${file} declares no I${kind}`)
      this.roots.set(m, this.checker.getDeclaredTypeOfSymbol(iface))
    }
  }

  /** Paths of the fields of `doc` its kind does not have, e.g. `spec.concurrencypolicy`. */
  unknownFields(doc: Obj): string[] {
    const root = this.roots.get(modelModule(doc))
    if (!root) throw new Error(`no declarations loaded for ${modelModule(doc)}`)
    const out: string[] = []
    this.walk(doc, root, '', out)
    return out
  }

  private walk(value: Json, type: ts.Type, path: string, out: string[]): void {
    if (value === null || typeof value !== 'object') return
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return
    const skip =
      ts.TypeFlags.Undefined | ts.TypeFlags.Null | ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike
    const candidates = (type.isUnion() ? type.types : [type]).filter(
      (t) => !(t.flags & (skip | ts.TypeFlags.BooleanLike)),
    )
    if (Array.isArray(value)) {
      const array = candidates.find((t) => this.checker.isArrayType(t))
      if (!array) return // a list where the schema has none: the model's validator reports it
      const element = this.checker.getTypeArguments(array as ts.TypeReference)[0]
      if (element) value.forEach((v, i) => this.walk(v, element, `${path}[${i}]`, out))
      return
    }
    const objects = candidates.filter((t) => !this.checker.isArrayType(t))
    if (objects.length === 0) return
    for (const [key, child] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`
      let childType: ts.Type | undefined
      for (const t of objects) {
        const prop = this.checker.getPropertyOfType(t, key)
        childType = prop
          ? this.checker.getTypeOfSymbol(prop)
          : this.checker.getIndexInfoOfType(t, ts.IndexKind.String)?.type
        if (childType) break
      }
      if (childType) this.walk(child, childType, at, out)
      else out.push(at)
    }
  }
}

/** Documented top-level fields of kustomize's Kustomization (kubectl.docs.kubernetes.io). */
const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'metadata',
  'namespace',
  'namePrefix',
  'nameSuffix',
  'resources',
  'components',
  'crds',
  'images',
  'labels',
  'commonLabels',
  'commonAnnotations',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'patches',
  'patchesStrategicMerge',
  'patchesJson6902',
  'replicas',
  'replacements',
  'openapi',
  'buildMetadata',
  'sortOptions',
  'helmCharts',
  'helmGlobals',
  'generators',
  'transformers',
  'validators',
])

let objects: Manifest[]
let kustomization: Obj
let strict: StrictFields

function find(kind: string, name?: string): Obj {
  const found = objects.filter(
    (m) => m.doc.kind === kind && (name === undefined || obj(m.doc.metadata, kind).name === name),
  )
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`)
  return found[0]!.doc
}

function named(items: Json | undefined, name: string, what: string): Obj {
  const item = list(items, what).find((i) => obj(i, what).name === name)
  if (!item) throw new Error(`${what}: no ${name}`)
  return obj(item, what)
}

/** The GameDay CronJob's pod spec and its chaos container. */
function gamedayPod(): { pod: Obj; container: Obj } {
  const spec = obj(find('CronJob').spec, 'spec')
  const pod = obj(obj(obj(obj(spec.jobTemplate, 'jobTemplate').spec, 'job').template, 'template').spec, 'pod')
  return { pod, container: named(pod.containers, 'chaos', 'containers') }
}

/** The volume mounted at `mountPath` in the chaos container. */
function volumeAt(mountPath: string): Obj {
  const { pod, container } = gamedayPod()
  const mount = list(container.volumeMounts, 'volumeMounts')
    .map((m) => obj(m, 'volumeMount'))
    .find((m) => m.mountPath === mountPath)
  if (!mount) throw new Error(`nothing is mounted at ${mountPath}`)
  return named(pod.volumes, str(mount.name, 'mount name'), 'volumes')
}

/** The chaos args parsed by oclif with `chaos gameday`'s own flag definitions (strict: no unknown flag). */
async function parseGamedayArgs(args: string[]): Promise<GamedayFlags> {
  expect(args[0]).toBe('gameday')
  const parsed = await Parser.parse(args.slice(1), {
    flags: { ...Gameday.baseFlags, ...Gameday.flags },
    args: {},
    strict: true,
  })
  return parsed.flags as GamedayFlags
}

function gamedayArgs(): string[] {
  return list(gamedayPod().container.args, 'args').map((a) => str(a, 'arg'))
}

/** Writes a ConfigMap's data as the kubelet mounts it: each key a symlink into `..data`, a hidden dir. */
async function mountConfigMap(configMap: Obj, dir: string): Promise<void> {
  const data = obj(configMap.data, 'data')
  const stamped = join(dir, '..2026_01_01_02_00_00.000000001')
  await mkdir(stamped, { recursive: true })
  await symlink('..2026_01_01_02_00_00.000000001', join(dir, '..data'))
  for (const [key, text] of Object.entries(data)) {
    await writeFile(join(stamped, key), str(text, key))
    await symlink(join('..data', key), join(dir, key))
  }
}

beforeAll(async () => {
  ;({ objects, kustomization } = await loadManifests())
  strict = new StrictFields([...new Set(objects.map((m) => modelModule(m.doc)))])
})

describe('deploy/kubernetes against the Kubernetes schema', () => {
  it('every document validates against its kind (kubernetes-models)', async () => {
    expect(objects.length).toBeGreaterThanOrEqual(10)
    for (const m of objects) {
      await expect(validateWithModel(m.doc), `${m.file}#${m.index}`).resolves.toBeUndefined()
    }
  })

  it('no document has a field its kind does not have', () => {
    for (const m of objects) expect(strict.unknownFields(m.doc), `${m.file}#${m.index}`).toEqual([])
  })

  it('a misspelt field is caught by the strict walk, which the schema validator alone lets through', async () => {
    const cronJob = structuredClone(find('CronJob'))
    const spec = obj(cronJob.spec, 'spec')
    spec.concurrencypolicy = spec.concurrencyPolicy!
    delete spec.concurrencyPolicy
    const template = obj(obj(obj(spec.jobTemplate, 'jobTemplate').spec, 'job').template, 'template')
    const container = obj(list(obj(template.spec, 'pod').containers, 'containers')[0], 'container')
    obj(container.securityContext, 'securityContext').readOnlyRootFileSystem = true
    await expect(validateWithModel(cronJob)).resolves.toBeUndefined()
    expect(strict.unknownFields(cronJob).sort()).toEqual([
      'spec.concurrencypolicy',
      'spec.jobTemplate.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
    ])
    // A wrong value of a known field is the validator's to catch.
    const badValue = structuredClone(find('CronJob'))
    obj(badValue.spec, 'spec').concurrencyPolicy = 'forbid'
    await expect(validateWithModel(badValue)).rejects.toThrow(/concurrencyPolicy/)
  })

  it('kustomization.yaml applies every manifest but the token Secret example, with known fields only', () => {
    expect(Object.keys(kustomization).filter((k) => !KUSTOMIZATION_FIELDS.has(k))).toEqual([])
    const resources = list(kustomization.resources, 'resources').map((r) => str(r, 'resource'))
    const files = [...new Set(objects.map((m) => m.file))].filter((f) => f !== SECRET_EXAMPLE)
    expect([...resources].sort()).toEqual(files.sort())
    expect(resources).not.toContain(SECRET_EXAMPLE)
    const namespace = find('Namespace')
    expect(kustomization.namespace).toBe(obj(namespace.metadata, 'metadata').name)
  })
})

describe('the GameDay CronJob', () => {
  it('never overlaps, never re-runs itself, and is bounded in time and resources', () => {
    const spec = obj(find('CronJob').spec, 'spec')
    expect(spec.concurrencyPolicy).toBe('Forbid')
    expect(spec.startingDeadlineSeconds).toBeGreaterThan(0)
    const job = obj(obj(spec.jobTemplate, 'jobTemplate').spec, 'job')
    expect(job.backoffLimit).toBe(0)
    expect(job.activeDeadlineSeconds).toBeGreaterThan(0)
    const { pod, container } = gamedayPod()
    expect(pod.restartPolicy).toBe('Never')
    expect(obj(obj(container.resources, 'resources').limits, 'limits').memory).toBeTruthy()
    expect(obj(obj(container.resources, 'resources').requests, 'requests').cpu).toBeTruthy()
  })

  it('runs as non-root on a read-only root file system, /tmp an emptyDir', () => {
    const { pod, container } = gamedayPod()
    expect(obj(pod.securityContext, 'pod securityContext').runAsNonRoot).toBe(true)
    const security = obj(container.securityContext, 'securityContext')
    expect(security.readOnlyRootFilesystem).toBe(true)
    expect(security.allowPrivilegeEscalation).toBe(false)
    expect(volumeAt('/tmp').emptyDir).toEqual({})
  })

  it('takes the token from a Secret, never inline', () => {
    const { container } = gamedayPod()
    const token = named(container.env, 'CHAOS_TOKEN', 'env')
    expect(token.value).toBeUndefined()
    const ref = obj(obj(token.valueFrom, 'valueFrom').secretKeyRef, 'secretKeyRef')
    const secret = find('Secret', str(ref.name, 'secret name'))
    expect(Object.keys(obj(secret.stringData, 'stringData'))).toContain(ref.key)
    expect(gamedayArgs().some((a) => a === '--token' || a.startsWith('--token='))).toBe(false)
  })

  it('parses as chaos gameday flags: discovery through the headless Service, the ConfigMap scenarios, the Pushgateway', async () => {
    const flags = (await parseGamedayArgs(gamedayArgs())) as GamedayFlags & {
      discover?: string[]
      builtin?: boolean
    }
    // --discover dns:<service>.<namespace>.svc.cluster.local:<port>, naming a headless Service's port.
    const specs = [flags.discover ?? []].flat()
    expect(specs).toHaveLength(1)
    const match = /^dns:([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(
      gamedayArgs()[gamedayArgs().indexOf('--discover') + 1]!,
    )
    expect(match).not.toBeNull()
    const [, serviceName, namespace, port] = match!
    expect(namespace).toBe(kustomization.namespace)
    const service = obj(find('Service', serviceName).spec, 'service spec')
    expect(service.clusterIP).toBe('None')
    expect(list(service.ports, 'ports').map((p) => obj(p, 'port').port)).toContain(Number(port))
    const deployment = objects
      .map((m) => m.doc)
      .find(
        (d) =>
          d.kind === 'Deployment' &&
          JSON.stringify(obj(obj(d.spec, 'spec').selector, 'selector').matchLabels) ===
            JSON.stringify(service.selector),
      )
    expect(deployment, 'a Deployment behind the headless Service').toBeDefined()

    // --scenarios names the directory the scenarios ConfigMap is mounted on; only those run.
    expect(flags.scenarios).toHaveLength(1)
    const scenarios = volumeAt(flags.scenarios![0]!)
    find('ConfigMap', str(obj(scenarios.configMap, 'configMap').name, 'configMap name'))
    expect(flags.builtin).toBe(false)

    expect(flags.pushgateway).toMatch(/^http:\/\/[a-z0-9.-]+:9091$/)
  })

  it('writes reports to the PersistentVolumeClaim: the config names its mount as reports_dir', () => {
    const { container } = gamedayPod()
    const configPath = str(named(container.env, 'CHAOS_CONFIG', 'env').value, 'CHAOS_CONFIG')
    const configVolume = volumeAt(dirname(configPath))
    const configMap = find('ConfigMap', str(obj(configVolume.configMap, 'configMap').name, 'name'))
    const text = str(obj(configMap.data, 'data')[basename(configPath)], 'config')
    const config = obj(parse(text) as Json, 'chaos.config.yaml')
    const reports = volumeAt(str(config.reports_dir, 'reports_dir'))
    const claim = str(obj(reports.persistentVolumeClaim, 'persistentVolumeClaim').claimName, 'claimName')
    find('PersistentVolumeClaim', claim)
  })
})

describe('the example services', () => {
  it('run the chaos image with real flags of chaos sandbox and chaos proxy', async () => {
    const commands = { sandbox: Sandbox, proxy: Proxy } as const
    const seen: string[] = []
    for (const deployment of objects.filter((m) => m.doc.kind === 'Deployment').map((m) => m.doc)) {
      const template = obj(obj(deployment.spec, 'spec').template, 'template')
      for (const c of list(obj(template.spec, 'pod').containers, 'containers').map((c) =>
        obj(c, 'container'),
      )) {
        if (!str(c.image, 'image').startsWith('chaos-playbook:')) continue
        const [id, ...rest] = list(c.args, 'args').map((a) => str(a, 'arg'))
        expect(Object.keys(commands)).toContain(id)
        const command = commands[id as keyof typeof commands]
        const flags: Interfaces.FlagInput = { ...command.baseFlags, ...command.flags }
        const parsed = await Parser.parse(rest, { flags, args: {}, strict: true })
        if (id === 'proxy') {
          // Each sidecar route as chaos proxy reads it; the sandbox's --dependency URLs point at them.
          const routes = (parsed.flags.route as string[]).map(parseRouteSpec)
          expect(routeSetProblems(routes)).toEqual([])
          const app = list(obj(template.spec, 'pod').containers, 'containers')
            .map((a) => obj(a, 'container'))
            .find((a) => a !== c)!
          const dependencies = list(app.args, 'args')
            .map((a) => str(a, 'arg'))
            .filter((a) => a.startsWith('--dependency='))
            .map((a) => a.slice('--dependency='.length))
          expect(dependencies.sort()).toEqual(
            routes.map((r) => `${r.name}=http://${r.listen.host}:${r.listen.port}`).sort(),
          )
        }
        seen.push(id!)
      }
    }
    expect(new Set(seen)).toEqual(new Set(['sandbox', 'proxy']))
  })

  it('enable the agent (or the proxy) with the token from the same Secret as the GameDay', () => {
    const gamedaySecret = obj(
      obj(named(gamedayPod().container.env, 'CHAOS_TOKEN', 'env').valueFrom, 'valueFrom').secretKeyRef,
      'ref',
    )
    const agents = [
      named(
        obj(obj(obj(find('Deployment', 'hotel').spec, 's').template, 't').spec, 'p').containers,
        'hotel',
        'c',
      ),
      named(
        obj(obj(obj(find('Deployment', 'hotel-proxied').spec, 's').template, 't').spec, 'p').containers,
        'chaos-proxy',
        'c',
      ),
    ]
    for (const c of agents) {
      const token = named(c.env, 'CHAOS_TOKEN', 'env')
      expect(token.value).toBeUndefined()
      expect(obj(obj(token.valueFrom, 'valueFrom').secretKeyRef, 'ref')).toEqual(gamedaySecret)
    }
    expect(named(agents[0]!.env, 'CHAOS_ENABLED', 'env').value).toBe('1')
  })
})

describe('the ConfigMaps, mounted as the kubelet mounts them', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaos-k8s-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('load as the GameDay loads them: the config, and every scenario of the ConfigMap', async () => {
    const { container } = gamedayPod()
    const configPath = str(named(container.env, 'CHAOS_CONFIG', 'env').value, 'CHAOS_CONFIG')
    const flags = await parseGamedayArgs(gamedayArgs())
    // Each ConfigMap volume at its mount path under `dir`, exactly as the pod sees it.
    const mounted = async (path: string): Promise<string> => {
      const configMap = find('ConfigMap', str(obj(volumeAt(path).configMap, 'configMap').name, 'name'))
      const at = join(dir, path)
      await mountConfigMap(configMap, at)
      return at
    }
    const scenarioDir = await mounted(flags.scenarios![0]!)
    const configDir = await mounted(dirname(configPath))
    const plan = await planGameday(
      {
        ...flags,
        scenarios: [scenarioDir],
        config: join(configDir, basename(configPath)),
      },
      {},
      dir,
    )
    const keys = Object.keys(obj(find('ConfigMap', 'chaos-scenarios').data, 'data'))
    expect(plan.scenarios.map((s) => `${s.id}.yaml`).sort()).toEqual(keys.sort())
    // Absolute in the config, so the same path as the pod's reports volume (a relative reports_dir
    // would resolve into the read-only ConfigMap mount).
    const configText = await readFile(join(configDir, basename(configPath)), 'utf8')
    const reportsDir = str(obj(parse(configText) as Json, 'config').reports_dir, 'reports_dir')
    expect(plan.workspace.config.reportsDir).toBe(reportsDir)
  })
})
