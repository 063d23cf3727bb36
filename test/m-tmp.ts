import { readdirSync, readFileSync } from 'node:fs'
import { computeLightness } from '../src/image/detect-grid.js'
import { detectLayout } from '../src/image/detect.js'
import { detectReduced } from '../src/image/reduced.js'
import { loadImage } from '../src/image/load.js'
import { rebuildPayload } from '../src/image/tiles.js'
import { encodeImage } from '../src/image/encode.js'
const dir = '/tmp/shots/caps'
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const t = { load: 0, light: 0, detect: 0, reduced: 0, rebuild: 0, encode: 0 }
let via = 0
for (const f of readdirSync(dir).sort()) {
  let c = cpu()
  const img = await loadImage(readFileSync(`${dir}/${f}`), { name: f })
  t.load += cpu() - c; c = cpu()
  computeLightness(img.pixels)
  t.light += cpu() - c; c = cpu()
  const layout = detectLayout(img.pixels, { name: f })
  t.detect += cpu() - c; c = cpu()
  if (await detectReduced(img.pixels, { name: f })) via++
  t.reduced += cpu() - c; c = cpu()
  const p = await rebuildPayload(img.pixels, layout)
  t.rebuild += cpu() - c; c = cpu()
  await encodeImage(p)
  t.encode += cpu() - c
}
console.log(t, 'via reduced', via)
