/* global process */
// Preloaded by the benchmark and the memory test only (node --import): on exit, write this process's peak resident
// set size (kB) and CPU time (ms, user + system, every thread) as JSON to the file named by
// RC2_BENCH_RSS_FILE. rc2 itself never reads that variable.
import { readFileSync, writeFileSync } from 'node:fs'

const target = process.env.RC2_BENCH_RSS_FILE
if (target) {
  process.on('exit', () => {
    const usage = process.resourceUsage()
    writeFileSync(
      target,
      JSON.stringify({
        maxRssKb: peakRssKb() ?? usage.maxRSS,
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      }),
    )
  })
}

/**
 * VmHWM from /proc (Linux): the peak of this process's own memory. getrusage's maxRSS is not: Linux
 * carries it across fork and exec, so a child spawned by a large parent reports the parent's size.
 */
function peakRssKb() {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}
