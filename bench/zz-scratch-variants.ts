const N = 200_000
type Call = (x: number) => Promise<number>
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system }
async function roundA(fn: Call) { const c = cpu(); let sum = 0; for (let i = 0; i < N; i++) sum += await fn(i); if (sum < 0) throw 0; return N / ((cpu() - c) / 1e6) }
async function roundB(fn: Call) { const c = cpu(); let sum = 0; for (let i = 0; i < N; i++) sum += await fn(i); if (sum < 0) throw 0; return N / ((cpu() - c) / 1e6) }
const noop: Call = async (x) => x
const slot = { calls: 0, active: null as null | object }
function slow(e: object, fn: any, self: unknown, args: unknown[]) { (e as any).x = args; return fn.apply(self, args) }
function reflectEscape(fn: any) { return function (this: unknown, ...args: unknown[]) { slot.calls++; const e = slot.active; if (e === null) return Reflect.apply(fn, this, args); return slow(e, fn, this, args) } }
function applyEscape(fn: any) { return function (this: unknown, ...args: unknown[]) { slot.calls++; const e = slot.active; if (e === null) return fn.apply(this, args); return slow(e, fn, this, args) } }
for (const [name, make] of [['reflect', reflectEscape], ['apply', applyEscape]] as const) {
  const w = make(noop) as Call
  await roundA(noop); await roundB(w)
  const ratios: number[] = []
  for (let r = 0; r < 40; r++) {
    if (r % 2) { const x = await roundB(w); const b = await roundA(noop); ratios.push(x / b) }
    else { const b = await roundA(noop); const x = await roundB(w); ratios.push(x / b) }
  }
  ratios.sort((a, b) => a - b)
  console.log(name, ratios[20]!.toFixed(3), 'IQR', ratios[10]!.toFixed(2), ratios[30]!.toFixed(2))
}
