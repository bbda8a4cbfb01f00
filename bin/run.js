#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/.
// oclif checks its own engines range on every start by loading semver (~15 ms of `chaos list`);
// ours (node >= 20.18) is stricter and checked by npm at install, so that check can never warn.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
// A terminal that went away (SIGHUP, closed pty) makes writes fail with EIO/EPIPE: the run must
// still roll back and exit, not crash on an unhandled stream error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EIO' && err.code !== 'EPIPE') throw err
  })
}
const { execute } = await import('@oclif/core')

await execute({ dir: import.meta.url })
