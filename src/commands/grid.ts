import type { Command } from './commander.js'
import { InvalidArgumentError } from './commander.js'
import { InputError, UsageError, writeFailure } from '../errors.js'
import { DEFAULT_MAX_BYTES } from '../limits.js'
import type { CliContext } from './context.js'
import { gridOption, toGrid } from './options.js'

interface GridFlags {
  grid?: string
  json?: boolean
  overlay?: string
  split?: string
  mark?: number[]
  output?: string
}

/** Numbers separated by commas (spaces around them allowed) or by spaces; nothing before or after. */
const PLAIN_TILE_LIST = /^[0-9]+(?:(?:\s*,\s*|\s+)[0-9]+)*$/

/** "1,4,7" or "1 4 7" -> [1, 4, 7]. */
export function parseTiles(value: string): number[] {
  // Plain decimal numbers only: Number() would also take 0x1, 1e0, +1, 1.0 and " 1" as tile 1.
  const parts = PLAIN_TILE_LIST.test(value) ? value.split(/\s*,\s*|\s+/) : []
  const tiles = parts.map(Number)
  if (parts.length === 0 || tiles.some((t) => t > 15)) {
    throw new InvalidArgumentError(`expected tile numbers 0-15 separated by commas, got "${value}"`)
  }
  return tiles
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('grid')
    .description(
      "The geometry rc2 sees: grid kind, tile rectangles and centres in the input's pixels.",
    )
    .argument('<input>', 'a payload or a screenshot (a file or an http(s) URL)')
    .addOption(gridOption())
    .option('--json', 'print JSON')
    .option('--overlay <png>', 'write the input with the detected tiles outlined and numbered')
    .option('--split <dir>', 'write each tile (without gutters) as its own file')
    .option('--mark <tiles>', 'tiles to mark, e.g. 1,4,7 (with -o)', parseTiles)
    .option('-o, --output <png>', 'where --mark writes its picture')
    .addHelpText(
      'after',
      `
Examples:
  $ rc2 grid screenshot.png
  $ rc2 grid screenshot.png --overlay check.png
  $ rc2 grid screenshot.png --mark 1,4,7 -o marked.png
  $ rc2 grid payload.jpg --split tiles/ --json`,
    )
    .action(async (input: string, flags: GridFlags) => {
      if (flags.mark !== undefined && flags.output === undefined)
        throw new UsageError('--mark needs -o <png> to know where to write')
      if (flags.output !== undefined && flags.mark === undefined)
        throw new UsageError('-o goes with --mark <tiles>')
      const [
        { resolveLayout },
        { resolveSource },
        annotate,
        tiles,
        { writeFileNoFollow: writeFile, isSameFile },
      ] = await Promise.all([
        import('../image/prepare.js'),
        import('../image/load.js'),
        import('../image/annotate.js'),
        import('../image/tiles.js'),
        import('../image/write.js'),
      ])
      for (const out of [flags.overlay, flags.output]) {
        if (out !== undefined && (await isSameFile(out, input)))
          throw new UsageError(`${out} is the input; rc2 never writes over an input`, {
            hint: 'choose another output file',
          })
      }
      const grid = toGrid(flags.grid)
      // An http(s) URL is fetched as `rc2 solve` fetches it (docs/commands.md), within the default deadline.
      const { fetchInput, isUrlInput } = await import('../inputs/fetch.js')
      const source = isUrlInput(input)
        ? await fetchInput(input, {
            timeoutMs: 120_000,
            maxBytes: DEFAULT_MAX_BYTES,
            signal: ctx.signal,
          })
        : input
      const image = await resolveSource(source, { name: input })
      let layout
      try {
        layout = resolveLayout(image, {
          name: input,
          ...(grid !== undefined ? { grid, gridSource: 'flag' as const } : {}),
        })
      } catch (error) {
        // No grid: the overlay still shows what was found, so the user can see why.
        if (flags.overlay === undefined || !(error instanceof InputError)) throw error
        const { diagnoseLayout } = await import('../image/detect.js')
        await writeOut(
          writeFile,
          '--overlay',
          flags.overlay,
          await annotate.renderDiagnosis(image, diagnoseLayout(image.pixels), { name: input }),
        )
        throw new InputError(error.message, {
          code: error.code,
          hint: `${flags.overlay} shows what rc2 found: header-shaped blue boxes (yellow, dashed), tiles that show (cyan), the closest grid (magenta, dashed)`,
        })
      }
      const written: Record<string, string | string[]> = {}
      if (flags.overlay !== undefined) {
        await writeOut(
          writeFile,
          '--overlay',
          flags.overlay,
          await annotate.renderOverlay(image, layout, { name: input }),
        )
        written.overlay = flags.overlay
      }
      if (flags.mark !== undefined && flags.output !== undefined) {
        await writeOut(
          writeFile,
          '-o',
          flags.output,
          await annotate.renderAnnotated(image, layout, flags.mark, { name: input }),
        )
        written.marked = flags.output
      }
      if (flags.split !== undefined) {
        written.split = (await tiles.splitTiles(image, layout, flags.split, { name: input })).map(
          (t) => t.path,
        )
      }
      if (flags.json === true) {
        ctx.out.result(
          JSON.stringify(
            {
              schemaVersion: 1,
              input,
              kind: layout.kind,
              grid: layout.grid,
              width: image.width,
              height: image.height,
              crop: layout.crop,
              tiles: layout.tiles,
              ...written,
            },
            null,
            2,
          ),
        )
        return
      }
      const { renderLayoutTable } = await import('../output/render-layout.js')
      ctx.out.result(renderLayoutTable(input, image.width, image.height, layout))
      for (const [what, where] of Object.entries(written))
        ctx.out.info(
          `${what}: ${Array.isArray(where) ? `${where.length} files in ${flags.split}` : where}`,
        )
    })
}

async function writeOut(
  write: (path: string, data: Buffer) => Promise<void>,
  flag: string,
  path: string,
  data: Buffer,
): Promise<void> {
  try {
    await write(path, data)
  } catch (error) {
    throw writeFailure(flag, path, error)
  }
}
