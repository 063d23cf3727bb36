import { type Command, Option } from 'commander'
import { dirname, join } from 'node:path'
import { UsageError } from '../errors.js'
import type { CliContext } from './context.js'
import { gridOption, parseIntInRange, toGrid } from './options.js'
import type { PrepareOptions } from '../image/prepare.js'
import type { Grid } from '../types.js'

interface ResizeFlags {
  output?: string
  grid?: string
  format?: 'png' | 'jpeg'
  quality?: number
  base64?: boolean
  json?: boolean
}

/** What `rc2 resize` is asked to do, from its flags (checked; nothing read yet). */
export interface ResizeOptions {
  inputs: string[]
  grid: Grid | undefined
  format: 'png' | 'jpeg' | undefined
  /** --quality; the config file's image.quality otherwise. */
  quality: number | undefined
  /** A file or a directory; beside each input when absent. */
  output: string | undefined
  /** Print the bare base64 instead of writing a file. */
  base64: boolean
  json: boolean
}

/** The flags as resize's options: files only (no -), --base64 prints and so takes no -o. */
function resizeOptions(inputs: string[], flags: ResizeFlags): ResizeOptions {
  if (inputs.includes('-'))
    throw new UsageError('rc2 resize reads files, not standard input', {
      hint: 'save the image to a file first',
    })
  if (flags.base64 === true && flags.output !== undefined)
    throw new UsageError('--base64 prints to stdout; drop -o, or drop --base64 to write a file')
  return {
    inputs,
    grid: toGrid(flags.grid),
    format: flags.format,
    quality: flags.quality,
    output: flags.output,
    base64: flags.base64 === true,
    json: flags.json === true,
  }
}

export function register(program: Command, ctx: CliContext, run = runResize): void {
  program
    .command('resize')
    .description(
      'Prepare an image as the services want it: find the grid, crop, drop gutters, scale to 100/300/450, write it.',
    )
    .argument('<input...>', 'payloads or screenshots (widget, tile area, whole page)')
    .option(
      '-o, --output <file|dir>',
      'where to write (a directory for several inputs; default: beside the input, shot.png -> shot.payload.jpg)',
    )
    .addOption(gridOption())
    .addOption(
      new Option(
        '--format <format>',
        'png or jpeg (default: from the -o extension, else jpeg)',
      ).choices(['png', 'jpeg']),
    )
    .option('--quality <1..100>', 'JPEG quality (default: 85)', parseIntInRange(1, 100))
    .option('--base64', 'print the bare base64 to stdout (for curl) instead of writing a file')
    .option('--json', 'print metadata: grid, size, crop, tile rectangles in the input, bytes')
    .addHelpText(
      'after',
      `
Examples:
  $ rc2 resize screenshot.png -o payload.jpg
  $ rc2 resize shots/*.png -o prepared/ --json
  $ rc2 resize tile.png --grid 1x1 --base64 | curl ...`,
    )
    .action((inputs: string[], flags: ResizeFlags) => run(resizeOptions(inputs, flags), ctx))
}

/** What every input is prepared with: the grid, the format, the quality (flag, else config). */
type PrepareSettings = Pick<PrepareOptions, 'grid' | 'gridSource' | 'format' | 'quality'>

async function runResize(options: ResizeOptions, ctx: CliContext): Promise<void> {
  // The config file counts here as for solve: image.quality, and a broken file is exit 3.
  const { loadConfig } = await import('../config/load.js')
  const config = await loadConfig({
    configPath: ctx.globalOptions().config,
    cwd: ctx.cwd,
    env: ctx.env,
    flags: { quality: options.quality },
    warn: (message) => ctx.out.warn(message),
  })
  const settings: PrepareSettings = {
    ...(options.grid !== undefined ? { grid: options.grid, gridSource: 'flag' as const } : {}),
    format: options.format,
    quality: config.image.quality,
  }
  if (options.base64) await printBase64(options, settings, ctx)
  else await writePayloads(options, settings, ctx)
}

/** --base64: each payload's base64 on stdout, or with --json its metadata beside it. */
async function printBase64(
  options: ResizeOptions,
  settings: PrepareSettings,
  ctx: CliContext,
): Promise<void> {
  const { prepareImage } = await import('../image/prepare.js')
  const items = []
  for (const input of options.inputs) {
    const prepared = await prepareImage(input, { ...settings, name: input })
    if (!options.json) {
      ctx.out.result(prepared.base64)
      continue
    }
    const { grid, size, bytes, base64 } = prepared
    const { crop, tiles } = prepared.layout
    const format = prepared.mime.slice(6)
    items.push({ schemaVersion: 1, input, grid, size, format, bytes, crop, tiles, base64 })
  }
  if (options.json) ctx.out.result(JSON.stringify(items.length === 1 ? items[0] : items, null, 2))
}

/** Each payload written (-o a file or a directory, else beside its input), never over an input. */
async function writePayloads(
  options: ResizeOptions,
  settings: PrepareSettings,
  ctx: CliContext,
): Promise<void> {
  const [{ resizeToFile }, { isSameFile }] = await Promise.all([
    import('../image/prepare.js'),
    import('../image/write.js'),
  ])
  const outs = await outputPaths(options, ctx.cwd)
  const results = []
  for (const [k, input] of options.inputs.entries()) {
    const out = outs[k] as string
    if (await isSameFile(out, input))
      throw new UsageError(`${out} is the input ${input}; rc2 never writes over an input`, {
        hint: 'choose another -o',
      })
    const result = await resizeToFile(input, out, { ...settings, name: input })
    results.push({ schemaVersion: 1 as const, ...result })
    if (options.json) continue
    const { crop } = result
    ctx.out.result(
      `${input} -> ${out}  ${result.grid}  ${result.size}x${result.size} ${result.format}  ${result.bytes} bytes` +
        ctx.out.color.dim(
          `  (${result.kind}${result.passThrough ? ', unchanged' : ''}; tiles at ${crop.x},${crop.y} ${crop.width}x${crop.height} in ${result.inputWidth}x${result.inputHeight})`,
        ),
    )
  }
  if (options.json)
    ctx.out.result(JSON.stringify(results.length === 1 ? results[0] : results, null, 2))
}

/**
 * Where each input's payload goes: -o names one file or a directory (one file for several inputs
 * is a usage error), and no two inputs write the same file.
 */
async function outputPaths(options: ResizeOptions, cwd: string): Promise<string[]> {
  const { distinctOutputs, prepareOutputTarget } = await import('../batch/out-names.js')
  const { inputs, output } = options
  const ext = options.format === 'png' ? '.png' : '.jpg'
  if (output === undefined)
    return distinctOutputs(
      inputs,
      (input, stem) => join(dirname(input), `${stem}.payload${ext}`),
      cwd,
    )
  if ((await prepareOutputTarget('-o', output, inputs.length, cwd)) === 'dir')
    return distinctOutputs(inputs, (_input, stem) => join(output, `${stem}${ext}`), cwd)
  return inputs.map(() => output)
}
