import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWorkload } from '../src/engine/workload.js'
const SERVER = `require('node:http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){process.stdout.write(this.address().port+'\\n')})`
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
const url = `http://127.0.0.1:${chunk.toString().trim()}`
for (let round = 0; round < 3; round++) {
  const w = createWorkload({ target: url, requests: [{ path: '/' }], rate: 20000, maxInFlight: 50, connections: 50 })
  const c = w.start()
  await new Promise((r) => setTimeout(r, 3000))
  await w.stop()
  console.log(w.summarySince(c).throughput_rps)
}
child.kill()
