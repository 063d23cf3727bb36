/* global process */
// The floor for a screenshot batch (npm run bench): decode every file of a directory to raw pixels
// with sharp, four at a time, and nothing else. Usage: node bench/decode-floor.mjs <dir>
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'

const dir = process.argv[2]
const files = (await readdir(dir)).sort().map((name) => join(dir, name))
let next = 0
let pixels = 0
async function worker() {
  while (next < files.length) {
    const file = files[next++]
    const { info } = await sharp(await readFile(file))
      .raw()
      .toBuffer({ resolveWithObject: true })
    pixels += info.width * info.height
  }
}
await Promise.all(Array.from({ length: 4 }, worker))
process.stdout.write(`${JSON.stringify({ ok: true, files: files.length, pixels })}\n`)
