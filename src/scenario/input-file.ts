/**
 * Reading an input file (a scenario file, the config file) safely: regular files only, and no
 * larger than {@link MAX_INPUT_BYTES}. The file is opened without blocking and checked with fstat
 * before a byte is read, so a FIFO cannot hang the command and a huge file costs no memory.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'

/** The largest scenario or config file read: 1 MiB (the built-in scenarios are under 2 KiB). */
export const MAX_INPUT_BYTES = 1024 * 1024

/** Why an input file was not read: one line naming the problem, and a hint. */
export interface InputFileRefusal {
  reason: string
  hint: string
}

/** The file's text, or why it was refused. */
export type InputFile = { text: string } | { refused: InputFileRefusal }

/** What kind of non-regular file a stat describes, in words. */
function kindOf(stat: {
  isDirectory(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
}): string {
  if (stat.isDirectory()) return 'a directory'
  if (stat.isFIFO()) return 'a FIFO (named pipe)'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

/** `1,048,577 bytes`. */
function bytes(n: number): string {
  return `${n.toLocaleString('en-US')} bytes`
}

/** `1 MiB`, `1.5 MiB`, `12 KiB`. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) {
    const mib = bytes / (1024 * 1024)
    return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`
  }
  return `${Math.ceil(bytes / 1024)} KiB`
}

/**
 * Reads `file` as UTF-8 if it is a regular file of at most `maxBytes`. Errors opening it (no such
 * file, no permission) are thrown as they come, for the caller to word.
 */
export async function readInputFile(file: string, maxBytes: number = MAX_INPUT_BYTES): Promise<InputFile> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) {
      return {
        refused: { reason: `is ${kindOf(stat)}, not a regular file`, hint: 'name a scenario or config file' },
      }
    }
    const tooBig = (size: number): InputFile => ({
      refused: {
        reason: `is ${bytes(size)}, more than the ${formatBytes(maxBytes)} (${bytes(maxBytes)}) limit for scenario and config files`,
        hint: 'scenario and config files are small YAML/JSON files; check that this is the right file',
      },
    })
    if (stat.size > maxBytes) return tooBig(stat.size)
    // Read at most one byte past the limit: a file that grew since the stat is still refused.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (length > maxBytes) return tooBig(length)
    return { text: buffer.subarray(0, length).toString('utf8') }
  } finally {
    await handle.close()
  }
}
