/* global process */
// Preloaded by the benchmark only (node --import): on exit, write this process's peak resident
// set size (kB) and CPU time (ms, user + system, every thread) as JSON to the file named by
// RC2_BENCH_RSS_FILE. rc2 itself never reads that variable.
import { writeFileSync } from 'node:fs'

const target = process.env.RC2_BENCH_RSS_FILE
if (target) {
  process.on('exit', () => {
    const usage = process.resourceUsage()
    writeFileSync(target, JSON.stringify({ maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }))
  })
}
