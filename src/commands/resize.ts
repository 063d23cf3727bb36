import { type Command, Option } from './commander.js'
import { dirname, join } from 'node:path'
import { UsageError } from '../errors.js'
import type { CliContext } from './context.js'
import { gridOption, parseIntInRange, toGrid } from './options.js'

interface ResizeFlags {
  output?: string
  grid?: string
  format?: 'png' | 'jpeg'
  quality?: number
  base64?: boolean
  json?: boolean
}

export function register(program: Command, ctx: CliContext): void {
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
    .action(async (inputs: string[], flags: ResizeFlags) => {
      const [
        { resizeToFile, prepareImage },
        { distinctOutputs, prepareOutputTarget },
        { isSameFile },
      ] = await Promise.all([
        import('../image/prepare.js'),
        import('../batch/out-names.js'),
        import('../image/write.js'),
      ])
      if (inputs.includes('-'))
        throw new UsageError('rc2 resize reads files, not standard input', {
          hint: 'save the image to a file first',
        })
      const grid = toGrid(flags.grid)
      // The config file counts here as for solve: image.quality, and a broken file is exit 3.
      const { loadConfig } = await import('../config/load.js')
      const config = await loadConfig({
        configPath: ctx.globalOptions().config,
        cwd: ctx.cwd,
        env: ctx.env,
        flags: { quality: flags.quality },
        warn: (message) => ctx.out.warn(message),
      })
      const common = {
        ...(grid !== undefined ? { grid, gridSource: 'flag' as const } : {}),
        format: flags.format,
        quality: config.image.quality,
      }

      if (flags.base64 === true) {
        if (flags.output !== undefined)
          throw new UsageError(
            '--base64 prints to stdout; drop -o, or drop --base64 to write a file',
          )
        const items = []
        for (const input of inputs) {
          const prepared = await prepareImage(input, { ...common, name: input })
          if (flags.json === true)
            items.push({
              input,
              grid: prepared.grid,
              size: prepared.size,
              format: prepared.mime.slice(6),
              bytes: prepared.bytes,
              crop: prepared.layout.crop,
              tiles: prepared.layout.tiles,
              base64: prepared.base64,
            })
          else ctx.out.result(prepared.base64)
        }
        if (flags.json === true)
          ctx.out.result(
            JSON.stringify(
              items.length === 1
                ? { schemaVersion: 1, ...items[0] }
                : items.map((i) => ({ schemaVersion: 1, ...i })),
              null,
              2,
            ),
          )
        return
      }

      // -o names one file or a directory; one file for several inputs is a usage error, and no two
      // inputs write the same file.
      const output = flags.output
      const toDir =
        output !== undefined &&
        (await prepareOutputTarget('-o', output, inputs.length, ctx.cwd)) === 'dir'
      const ext = flags.format === 'png' ? '.png' : '.jpg'
      const outs =
        output === undefined
          ? distinctOutputs(
              inputs,
              (input, stem) => join(dirname(input), `${stem}.payload${ext}`),
              ctx.cwd,
            )
          : toDir
            ? distinctOutputs(inputs, (_input, stem) => join(output, `${stem}${ext}`), ctx.cwd)
            : inputs.map(() => output)
      const results = []
      for (const [k, input] of inputs.entries()) {
        const out = outs[k] as string
        if (await isSameFile(out, input))
          throw new UsageError(`${out} is the input ${input}; rc2 never writes over an input`, {
            hint: 'choose another -o',
          })
        const result = await resizeToFile(input, out, { ...common, name: input })
        results.push({ schemaVersion: 1 as const, ...result })
        if (flags.json !== true) {
          const crop = result.crop
          ctx.out.result(
            `${input} -> ${out}  ${result.grid}  ${result.size}x${result.size} ${result.format}  ${result.bytes} bytes` +
              ctx.out.color.dim(
                `  (${result.kind}${result.passThrough ? ', unchanged' : ''}; tiles at ${crop.x},${crop.y} ${crop.width}x${crop.height} in ${result.inputWidth}x${result.inputHeight})`,
              ),
          )
        }
      }
      if (flags.json === true)
        ctx.out.result(JSON.stringify(results.length === 1 ? results[0] : results, null, 2))
    })
}
