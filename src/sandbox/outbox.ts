/**
 * Degraded mode for outgoing messages: when WhatsApp or Gmail cannot be reached, the message goes
 * into a bounded outbox and is delivered later by a background drain, instead of being lost.
 */

export interface OutboxItem<P> {
  id: string
  payload: P
  queued_at: string
  reason: string
}

export class Outbox<P> {
  private readonly items: Array<OutboxItem<P>> = []

  constructor(
    readonly channel: string,
    readonly capacity = 1000,
  ) {}

  /** Queues a message; false when the outbox is full (the caller must then fail the request). */
  enqueue(item: OutboxItem<P>): boolean {
    if (this.items.length >= this.capacity) return false
    this.items.push(item)
    return true
  }

  get size(): number {
    return this.items.length
  }

  /**
   * Delivers queued messages in order with `send` until one fails or `max` were sent.
   * Returns how many were delivered.
   */
  async drain(send: (item: OutboxItem<P>) => Promise<unknown>, max = 50): Promise<number> {
    let sent = 0
    while (sent < max) {
      const head = this.items[0]
      if (!head) break
      try {
        await send(head)
      } catch {
        break
      }
      this.items.shift()
      sent++
    }
    return sent
  }
}
