/**
 * The built-in sandbox target "Agente Hotelero": a small hotel service with the chaos agent mounted,
 * used as `chaos`'s default target and as a real target in tests. See docs/sandbox.md.
 */
export { startSandbox, SANDBOX_SERVICE, CONTROL_PREFIX, DB_POOL_SIZE, DB_QUEUE_SIZE } from './server.js'
export type { Sandbox, SandboxOptions } from './server.js'
export type { BackgroundStats } from './background.js'
export { DEPENDENCIES, DEFAULT_BASE_LATENCY_MS, DEFAULT_CALL_TIMEOUT_MS } from './dependencies.js'
export type { DependencyName } from './dependencies.js'
export { ROOM_TYPES, ROOM_INVENTORY } from './systems.js'
export type { BreakerState } from './resilience.js'
export { startDependencyServer } from './dependency-server.js'
export type { DependencyServer, DependencyServerOptions } from './dependency-server.js'
export { HTTP_DEPENDENCIES, isHttpDependency } from './http-remote.js'
export type { HttpDependencyName } from './http-remote.js'
