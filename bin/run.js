#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/.
// oclif checks its own engines range on every start by loading semver (~15 ms of `chaos list`);
// ours (node >= 20.18) is stricter and checked by npm at install, so that check can never warn.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const { execute } = await import('@oclif/core')

await execute({ dir: import.meta.url })
