/* global process */
// Preloaded by the benchmark only (node --import): on exit, write this process's peak resident
// set size (kB) to the file named by RC2_BENCH_RSS_FILE. rc2 itself never reads that variable.
import { writeFileSync } from 'node:fs'

const target = process.env.RC2_BENCH_RSS_FILE
if (target) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS))
  })
}
