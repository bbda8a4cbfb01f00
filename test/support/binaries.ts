/** Server binaries some e2e tests need (Debian packages .ci/run installs): found, or the file skips. */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Whether `name` is an executable on PATH or in /usr/sbin (where Debian puts dnsmasq). */
export function onPath(name: string): boolean {
  return [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin'].some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/**
 * Whether a test file must skip for want of `binaries`: on a developer machine it is skipped with a
 * printed reason (`install`: how to get them); with CI set it is not skipped, so its tests fail.
 */
export function skipWithout(file: string, binaries: readonly string[], install: string): boolean {
  const missing = binaries.filter((b) => !onPath(b))
  const skip = missing.length > 0 && !process.env.CI
  if (skip) {
    console.warn(
      `${file}: SKIPPED, not installed: ${missing.join(', ')}. ${install}; with CI set these tests fail instead.`,
    )
  }
  return skip
}
