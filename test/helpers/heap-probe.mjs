/* global process, Buffer */
// Preloaded (node --expose-gc --import) by the memory test only: once standard output has carried
// RC2_PROBE_LINES lines (every input's result, while the batch still holds all it keeps), collect
// garbage and write the live heap size in bytes to the file named by RC2_PROBE_FILE.
import { writeFileSync } from 'node:fs'

const target = process.env.RC2_PROBE_FILE
const want = Number(process.env.RC2_PROBE_LINES)
if (target && want > 0 && typeof globalThis.gc === 'function') {
  const write = process.stdout.write.bind(process.stdout)
  let lines = 0
  let measured = false
  process.stdout.write = (chunk, ...rest) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    for (let k = text.indexOf('\n'); k !== -1; k = text.indexOf('\n', k + 1)) lines++
    if (!measured && lines >= want) {
      measured = true
      globalThis.gc()
      writeFileSync(target, String(process.memoryUsage().heapUsed))
    }
    return write(chunk, ...rest)
  }
}
