/**
 * The signed workload tag: a SINGLE_REQUEST fault (and the x-chaos-faults answer) is only for
 * requests that carry the experiment id AND its signature, HMAC-SHA256(token, id). The id itself
 * is public (a label on the unauthenticated /metrics), so an unsigned or wrongly signed tag must
 * count as no tag at all.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { EXPERIMENT_HEADER, FAULTS_HEADER } from '../src/protocol/schemas.js'
import { SIGNATURE_HEADER, signExperimentId, tagHeaders } from '../src/protocol/tag.js'
import { experiment, request, startHost, tag, TOKEN, type Host } from './agent-helpers.js'

let host: Host | undefined
afterEach(async () => {
  await host?.close()
  host = undefined
})

/** One wrapped pms_adapter call through the host, with these request headers. */
async function callWith(headers: Record<string, string>) {
  const res = await fetch(`${host!.url}/call/pms_adapter?x=1`, { headers })
  await res.text()
  return { status: res.status, faults: res.headers.get(FAULTS_HEADER) }
}

async function startSingleRequest(id: string) {
  const reply = await request(host!.url, 'POST', '/chaos/experiments', {
    body: experiment(id, { fault_type: 'CIRCUIT_BREAK', probability: 1, blast_radius: 'SINGLE_REQUEST' }),
  })
  expect(reply.status).toBe(201)
}

async function view(id: string) {
  const reply = await request<{ experiment: { calls_seen: number; faults_injected: number } }>(
    host!.url,
    'GET',
    `/chaos/experiments/${id}`,
  )
  return reply.body.experiment
}

describe('the signed tag', () => {
  it('is lower-case hex HMAC-SHA256 of the id keyed with the token (RFC 4231 vector)', () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    expect(signExperimentId('Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
    expect(tagHeaders('Jefe', 'x')).toEqual({
      [EXPERIMENT_HEADER]: 'x',
      [SIGNATURE_HEADER]: signExperimentId('Jefe', 'x'),
    })
  })

  it('an unsigned or wrongly signed tag gets no fault and no x-chaos-faults; a signed one does', async () => {
    host = await startHost()
    const id = 'signed_only'
    await startSingleRequest(id)
    const good = signExperimentId(TOKEN, id)
    const forgeries: Record<string, string>[] = [
      { [EXPERIMENT_HEADER]: id },
      { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: signExperimentId(`${TOKEN}x`, id) },
      { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: signExperimentId(TOKEN, `${id}x`) },
      { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: good.toUpperCase().slice(0, 63) },
      { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: `${good}00` },
      { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: 'z'.repeat(64) },
      { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: '' },
    ]
    for (const headers of forgeries) {
      expect(await callWith(headers), JSON.stringify(headers)).toEqual({ status: 200, faults: null })
    }
    // Not even counted in the blast radius.
    expect(await view(id)).toMatchObject({ calls_seen: 0, faults_injected: 0 })

    expect(await callWith(tag(id))).toEqual({ status: 502, faults: '1' })
    // Upper-case hex is the same MAC.
    expect(await callWith({ [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: good.toUpperCase() })).toEqual({
      status: 502,
      faults: '1',
    })
    expect(await view(id)).toMatchObject({ calls_seen: 2, faults_injected: 2 })
  })

  it('a signature is bound to its experiment: an old id signed, or another agent token, gets nothing', async () => {
    host = await startHost()
    await startSingleRequest('first_run')
    expect(await callWith(tag('first_run'))).toEqual({ status: 502, faults: '1' })
    await request(host.url, 'DELETE', '/chaos/experiments/first_run')
    await startSingleRequest('second_run')
    // The previous experiment's valid tag does not reach the new one.
    expect(await callWith(tag('first_run'))).toEqual({ status: 200, faults: null })
    expect(await callWith(tag('second_run', 'another-agents-token-0123'))).toEqual({
      status: 200,
      faults: null,
    })
    expect(await callWith(tag('second_run'))).toEqual({ status: 502, faults: '1' })
  })
})
