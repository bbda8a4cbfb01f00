import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { createWorkload } from '../src/engine/workload.js'
const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<{ requests: { total: number } }>
const SERVER = `require('node:http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){process.stdout.write(this.address().port+'\\n')})`
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
const url = `http://127.0.0.1:${chunk.toString().trim()}`
for (let round = 0; round < 3; round++) {
  let cpu = process.cpuUsage()
  const ac = await autocannon({ url, connections: 50, duration: 3 })
  let d = process.cpuUsage(cpu)
  console.log('autocannon', ac.requests.total, 'cpu us/req', ((d.user + d.system) / ac.requests.total).toFixed(1))
  const w = createWorkload({ target: url, requests: [{ path: '/' }], rate: 8000, maxInFlight: 50, connections: 50 })
  cpu = process.cpuUsage()
  const c = w.start()
  await new Promise((r) => setTimeout(r, 3000))
  await w.stop()
  d = process.cpuUsage(cpu)
  const s = w.summarySince(c)
  console.log('generator', s.successful_requests, 'cpu us/req', ((d.user + d.system) / s.successful_requests).toFixed(1), 'dropped', s.dropped)
}
child.kill()
