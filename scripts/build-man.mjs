/**
 * Step of `npm run build`: man/rc2.1, the man page package.json's `man` installs (`man rc2` after a
 * global install), made from the built CLI's own command definitions, so it says what --help says.
 * test/e2e/man.test.ts renders it.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { URL } from 'node:url'
import cli from '../dist/cli.cjs'
import { renderManPage } from '../dist/output/man.js'

mkdirSync(new URL('../man/', import.meta.url), { recursive: true })
writeFileSync(new URL('../man/rc2.1', import.meta.url), renderManPage(await cli.describeCli()))
