/* global process */
// Preloaded (node --import) by the memory test only: as the process exits, write its peak resident
// set size (the kernel's high-water mark, in kilobytes) to the file named by RC2_PROBE_RSS_FILE.
import { writeFileSync } from 'node:fs'

const target = process.env.RC2_PROBE_RSS_FILE
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS)))
