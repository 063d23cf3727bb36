/* global process, fetch */
// The floor rc2 is measured against (`npm run bench`): the simplest client that does the job.
// For every file in a directory: read it, base64 it, POST createTask, parse the reply; 16 workers;
// with `retries` > 0, a naive loop that resends any failure (no backoff, no budget, no deadline).
// Prints one NDJSON line per input, like `rc2 solve --ndjson`.
// Usage: node bare-client.mjs <dir> <endpoint> <key> [concurrency=16] [retries=0]
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

const [dir, endpoint, key, concurrency = '16', retries = '0'] = process.argv.slice(2)
const files = (await readdir(dir)).sort().map((name) => join(dir, name))
let next = 0

async function solve(file) {
  const image = (await readFile(file)).toString('base64')
  const body = JSON.stringify({
    clientKey: key,
    task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
  })
  for (let attempt = 0; ; attempt++) {
    try {
      const reply = await fetch(`${endpoint}/createTask`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      const json = await reply.json()
      if (json.errorId !== 0 || json.solution === undefined)
        throw new Error(json.errorCode ?? `HTTP ${reply.status}`)
      return { input: file, ok: true, objects: json.solution.objects }
    } catch (error) {
      if (attempt >= Number(retries)) return { input: file, ok: false, error: String(error) }
    }
  }
}

async function worker() {
  while (next < files.length) {
    const file = files[next++]
    process.stdout.write(JSON.stringify(await solve(file)) + '\n')
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker))
