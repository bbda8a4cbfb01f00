/** A programmatic fault source for TCP routes (src/proxy/tcp.ts), set and rolled back by a test. */
import { FaultConfig, type FaultConfigInput } from '../../src/protocol/schemas.js'
import type { TcpFault, TcpFaultSource } from '../../src/proxy/tcp.js'

/** One fault at a time for every connection, as a proxy core with probability 1 gives it. */
export class TestFaults implements TcpFaultSource {
  fault: TcpFault | null = null
  /** Injected faults counted by the route. */
  injected = 0
  private controller: AbortController | undefined

  /** Turns a fault on (the previous one, if any, is rolled back first). */
  set(input: FaultConfigInput): void {
    this.rollback()
    this.controller = new AbortController()
    this.fault = {
      config: FaultConfig.parse(input),
      signal: this.controller.signal,
      injected: () => this.injected++,
    }
  }

  /** Rollback as the proxy core does it: the fault is gone for new lookups, then its signal aborts. */
  rollback(): void {
    this.fault = null
    this.controller?.abort()
  }

  forConnection(): TcpFault | null {
    return this.fault
  }
}
