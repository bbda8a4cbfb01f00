// Writes oclif.manifest.json after the build, so `chaos --help` and every command start without
// importing every command file (oclif reads the manifest instead). Run by `npm run build`.
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Plugin } from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const plugin = new Plugin({
  root,
  isRoot: true,
  type: 'core',
  ignoreManifest: true,
  errorOnManifestCreate: true,
})
await plugin.load()
await writeFile(
  new URL('../oclif.manifest.json', import.meta.url),
  JSON.stringify(plugin.manifest, null, 2) + '\n',
)
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)
