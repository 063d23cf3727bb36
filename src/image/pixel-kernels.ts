/**
 * pixel-kernels.wat, detection's per-pixel steps in WebAssembly, compiled on first use (well under
 * a millisecond, so start-up never pays for it). Undefined where Node has no WebAssembly
 * (`node --jitless`) or no SIMD for this CPU: callers then do the same work in JavaScript.
 */
import { PIXEL_KERNELS_WASM } from './pixel-kernels-wasm.js'

/**
 * What rc2 uses of the WebAssembly global: Node has it, @types/node for Node 20 does not declare
 * it, and `node --jitless` has none.
 */
declare const WebAssembly:
  | {
      Module: new (bytes: Uint8Array) => object
      Instance: new (module: object) => { exports: object }
    }
  | undefined

/** The module's exports; one instance, one memory, used by one caller at a time (both are synchronous). */
export interface PixelKernels {
  memory: { buffer: ArrayBuffer }
  lightness: (src: number, dst: number, blocks: number) => void
  darkRuns: (
    src: number,
    width: number,
    rows: number,
    level: number,
    dst: number,
    ends: number,
  ) => void
}

let compiled: PixelKernels | null | undefined

export function pixelKernels(): PixelKernels | undefined {
  if (compiled === undefined) {
    try {
      compiled =
        typeof WebAssembly === 'undefined'
          ? null
          : (new WebAssembly.Instance(
              new WebAssembly.Module(Buffer.from(PIXEL_KERNELS_WASM, 'base64')),
            ).exports as PixelKernels)
    } catch {
      compiled = null
    }
  }
  return compiled ?? undefined
}
