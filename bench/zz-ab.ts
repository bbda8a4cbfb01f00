import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWorkload as A } from '../src/engine/workload.js'
import { createWorkload as B } from '../src/engine/zz-workload-legacy.js'
const SERVER = `require('node:http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){process.stdout.write(this.address().port+'\\n')})`
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
const url = `http://127.0.0.1:${chunk.toString().trim()}`
const res: Record<string, number[]> = { A: [], B: [] }
for (let round = 0; round < 4; round++) {
  for (const [name, create] of [['A', A], ['B', B]] as const) {
    const w = create({ target: url, requests: [{ path: '/' }], rate: 2000, maxInFlight: 200 })
    const cpu = process.cpuUsage()
    const c = w.start()
    await new Promise((r) => setTimeout(r, 2000))
    await w.stop()
    const d = process.cpuUsage(cpu)
    const s = w.summarySince(c)
    res[name]!.push((d.user + d.system) / s.successful_requests)
    console.log(name, s.successful_requests, 'cpu us/req', ((d.user + d.system) / s.successful_requests).toFixed(1), 'drop', s.dropped)
  }
}
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]
console.log('median A', med(res.A!), 'B', med(res.B!))
child.kill()
