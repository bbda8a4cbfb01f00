/**
 * The signed workload tag (control protocol v1): the runner proves that a request tagged
 * `x-chaos-experiment: <id>` is its own by sending `x-chaos-signature: <hex HMAC-SHA256(token, id)>`.
 * The experiment id is not a secret (it is a label on the unauthenticated `/metrics`); the token
 * is, so only a holder of the token can opt a request into a SINGLE_REQUEST fault.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { EXPERIMENT_HEADER } from './schemas.js'

/** Request header carrying the proof that a tagged request comes from a holder of the token. */
export const SIGNATURE_HEADER = 'x-chaos-signature'

/** The signature of an experiment id: lower-case hex HMAC-SHA256 keyed with the token (64 characters). */
export function signExperimentId(token: string, id: string): string {
  return createHmac('sha256', token).update(id, 'utf8').digest('hex')
}

/** The headers that tag a request for experiment `id`: the id and its signature. */
export function tagHeaders(token: string, id: string): Record<string, string> {
  return { [EXPERIMENT_HEADER]: id, [SIGNATURE_HEADER]: signExperimentId(token, id) }
}

/**
 * Checks a received signature against the expected one (the raw 32-byte MAC, computed once per
 * experiment) in constant time. Anything that is not 64 hex characters fails without comparing.
 */
export function signatureMatches(received: string | string[] | undefined, expected: Buffer): boolean {
  if (typeof received !== 'string' || !/^[0-9a-fA-F]{64}$/.test(received)) return false
  return timingSafeEqual(Buffer.from(received, 'hex'), expected)
}

/** The raw MAC an agent compares received signatures with (see {@link signatureMatches}). */
export function expectedSignature(token: string, id: string): Buffer {
  return createHmac('sha256', token).update(id, 'utf8').digest()
}
