/**
 * Step of `npm run build`, after tsc: dist/cli.cjs, the CLI that bin/rc2.js runs, bundled by
 * rolldown as CommonJS, so that start-up reads and compiles one file of the program and its
 * options, and Node starts no ES module loader for it (on Node 20 that loader alone costs about as
 * much as commander's whole run; only ora, the spinner on a terminal, needs it). The library
 * (dist/index.js) stays tsc's ES modules.
 *
 * A module the source imports with `await import()` goes into dist/chunks/ (code splitting), so
 * that it is read and compiled only when that import runs: each command pays only for what it
 * uses, and `rc2 --help` compiles none of the actions. The dependencies stay outside the bundle,
 * except commander (every run needs it), chalk (small, and an ES module only, so it cannot be
 * required), zod (zod/mini and its English messages are 30 kB; full zod loads 95 modules) and
 * undici (one file compiles in about 70 ms less than its 110 modules). Their licences go into
 * dist/THIRD-PARTY-NOTICES.md, shipped with the code; a fix in one of them needs a release of rc2,
 * since the CLI runs its bundled copy, not node_modules. The packages left outside and Node's
 * built-ins are required (requireOutside below); ora, an ES module only, stays an `import()`.
 */
import { builtinModules } from 'node:module'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL, URL } from 'node:url'
import { rolldown } from 'rolldown'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const BUNDLED = new Set(['commander', 'chalk', 'zod', 'undici'])
const outside = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name))
const packageOf = (specifier) => {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}
const builtin = (specifier) =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])

/** An outside package that only an ES import can load (ora): every other one a require() can. */
const esOnly = (specifier) =>
  !builtin(specifier) &&
  JSON.parse(
    readFileSync(new URL(`../node_modules/${packageOf(specifier)}/package.json`, import.meta.url)),
  ).type === 'module'

/**
 * Where an import of Node's built-ins or of an outside package goes. commander requires
 * child_process (and through it the network modules) for the executable subcommands that rc2 has
 * none of: it gets a spawn that requires it when called. An `await import()` of a built-in or of a
 * CommonJS package becomes a require() when it runs: an import() would start Node's ES module
 * loader (cosmiconfig, in every run that finds a config file). The rest are required by the chunk
 * that imports them.
 */
const SPAWN_WHEN_CALLED = '\0spawn-when-called'
const REQUIRE_WHEN_RUN = '\0require-when-run:'
const requireOutside = {
  name: 'require-outside',
  resolveId(specifier, importer, { kind }) {
    if (
      specifier.endsWith('child_process') &&
      (importer ?? '').includes('/node_modules/commander/')
    )
      return SPAWN_WHEN_CALLED
    if (!builtin(specifier) && !outside.includes(packageOf(specifier))) return undefined
    if (kind === 'dynamic-import' && !esOnly(specifier)) return REQUIRE_WHEN_RUN + specifier
    return { id: specifier, external: true }
  },
  load(id) {
    if (id === SPAWN_WHEN_CALLED)
      return "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) }"
    if (id.startsWith(REQUIRE_WHEN_RUN))
      return `module.exports = require(${JSON.stringify(id.slice(REQUIRE_WHEN_RUN.length))})`
    return undefined
  },
}

const bundle = await rolldown({
  input: { cli: 'src/cli.ts' },
  platform: 'node',
  // The entry holds every module it imports statically (no shared chunk to load besides it).
  preserveEntrySignatures: 'allow-extension',
  transform: { target: 'node20' },
  plugins: [requireOutside],
  // A dynamic import of a module the entry also imports statically stays in the entry: expected.
  onLog: (level, log, report) => {
    if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') report(level, log)
  },
})
const { output } = await bundle.write({
  dir: 'dist',
  format: 'cjs',
  entryFileNames: '[name].cjs',
  chunkFileNames: 'chunks/[name]-[hash].cjs',
  // Less to read and compile at every start.
  minify: true,
  // Strict mode, as the ES modules of the source are (rolldown adds it only where a file says so).
  strict: true,
})
await bundle.close()

// The licence of every package with code in the bundle (a package's own dependencies count too,
// nested ones by their own directory), which MIT asks to go with every copy.
const inside = new Map(
  output.flatMap((chunk) =>
    (chunk.moduleIds ?? []).flatMap((id) => {
      const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(id)
      return match === null ? [] : [[match[1], match[2]]]
    }),
  ),
)
const notices = [...inside]
  .sort((a, b) => a[1].localeCompare(b[1]))
  .map(([path, name]) => {
    const dir = pathToFileURL(`${path}/`)
    const { version, license } = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'))
    if (typeof license !== 'string') throw new Error(`${name}: no licence named in package.json`)
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)([.-].*)?$/i.test(f))
    if (file === undefined)
      throw new Error(`${name}: no licence file to ship with its bundled code`)
    const text = readFileSync(new URL(file, dir), 'utf8')
    return `## ${name} ${version} (${license})\n\n${text.trim()}\n`
  })
writeFileSync(
  new URL('../dist/THIRD-PARTY-NOTICES.md', import.meta.url),
  `# Code bundled into dist/cli.cjs and dist/chunks/\n\n${notices.join('\n')}`,
)
