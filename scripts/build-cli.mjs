/**
 * Step of `npm run build`, after tsc: dist/cli.js, the CLI that bin/rc2.js runs, bundled by
 * esbuild, so that start-up reads and compiles one file of the program and its options. It
 * replaces tsc's dist/cli.js (dist/cli.d.ts still describes it); the library (dist/index.js) stays
 * tsc's output.
 *
 * A module the source imports with `await import()` goes into dist/chunks/ (code splitting), so
 * that it is read and compiled only when that import runs: each command pays only for what it
 * uses, and `rc2 --help` compiles none of the actions. The dependencies stay outside the bundle,
 * except commander (every run needs it), chalk (small, and an ES module only, so it cannot be
 * required), zod (zod/mini and its English messages are 30 kB; full zod loads 95 modules) and
 * undici (one file compiles in about 70 ms less than its 110 modules). Their licences go into
 * dist/THIRD-PARTY-NOTICES.md, shipped with the code; a fix in one of them needs a release of rc2,
 * since the CLI runs its bundled copy, not node_modules. A package left outside and imported
 * statically by a module that runs later (sharp by the image code, fastify by the gateway) is
 * required when that module runs instead of being imported at start-up, as an ES import would be;
 * so are Node's built-ins.
 */
import { build } from 'esbuild'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { URL } from 'node:url'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const BUNDLED = new Set(['commander', 'chalk', 'zod', 'undici'])
const outside = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name))
const packageOf = (specifier) => {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/**
 * A static import of an outside package or of Node's built-ins becomes a require() that runs with
 * its importer (an ES import of a built-in also builds a module facade of its every export).
 */
const requireWhenRun = {
  name: 'require-when-run',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      // commander loads child_process (and through it the network modules) for the executable
      // subcommands that rc2 has none of: it gets a spawn that loads it when called.
      if (args.path === 'node:child_process' && args.importer.includes('/node_modules/commander/'))
        return { path: args.path, namespace: 'spawn-when-called' }
      if (!args.path.startsWith('node:') && !outside.includes(packageOf(args.path)))
        return undefined
      // One such module for each importer (a line of code), so that it goes into the importer's
      // chunk rather than into a chunk of its own that start-up would have to load besides.
      if (args.kind === 'import-statement' && args.namespace === 'file')
        return {
          path: args.path,
          namespace: 'require-when-run',
          pluginData: args.path,
          suffix: `?${args.importer}`,
        }
      return { path: args.path, external: true }
    })
    build.onLoad({ filter: /.*/, namespace: 'spawn-when-called' }, () => ({
      contents:
        "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) }",
      loader: 'js',
    }))
    build.onLoad({ filter: /.*/, namespace: 'require-when-run' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.pluginData)})`,
      loader: 'js',
    }))
  },
}

const { metafile } = await build({
  metafile: true,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  entryNames: 'cli',
  // Each module imported with `await import()` (a command's action and what it uses) becomes a
  // chunk of its own, read and compiled only when that import runs: `rc2 --help` compiles the
  // program and the commands' options, not every action's code.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Less to read and compile at every start.
  minify: true,
  plugins: [requireWhenRun],
  // commander's require() of Node's built-ins, and the one above, need a require in an ES module.
  banner: {
    js: "import { createRequire as __rc2Require } from 'node:module'; const require = __rc2Require(import.meta.url);",
  },
  logLevel: 'warning',
})

// The licence of every package with code in the bundle (as esbuild read it: a package's own
// dependencies count too, nested ones by their own directory), which MIT asks to go with every copy.
// Inputs of the plugins' namespaces ("require-when-run:...") are not files.
const inside = new Map(
  Object.keys(metafile.inputs).flatMap((input) => {
    const match = /^(?![\w-]+:)(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input)
    return match === null ? [] : [[match[1], match[2]]]
  }),
)
const notices = [...inside]
  .sort((a, b) => a[1].localeCompare(b[1]))
  .map(([path, name]) => {
    const dir = new URL(`../${path}/`, import.meta.url)
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
  `# Code bundled into dist/cli.js and dist/chunks/\n\n${notices.join('\n')}`,
)
