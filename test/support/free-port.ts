/** Free loopback ports, for servers that cannot be told to pick one and report it (Redis, PostgreSQL). */
import { createServer } from 'node:net'

/**
 * A loopback port free right now: bound on port 0, then released. Another process could take it
 * before the server starts; the servers' start helpers fail with their log if that happens.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
