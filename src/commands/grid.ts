import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { InputError, UsageError, writeFailure } from '../errors.js'
import type { CliContext } from './context.js'
import { gridOption, toGrid } from './options.js'
import type { LoadedImage } from '../image/load.js'
import type { Layout } from '../image/types.js'
import type { Grid } from '../types.js'
import { DEFAULT_MAX_BYTES } from '../limits.js'

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

/** What `rc2 grid` is asked to do, from its flags (checked; nothing read yet). */
export interface GridOptions {
  input: string
  grid: Grid | undefined
  json: boolean
  overlay?: string
  split?: string
  /** --mark with -o: the tiles to mark and where that picture goes. */
  mark?: { tiles: number[]; output: string }
}

/** The flags as grid's options; -o and --mark go together. */
function gridOptions(input: string, flags: GridFlags): GridOptions {
  if (input === '-')
    throw new UsageError('rc2 grid reads a file or an http(s) URL, not standard input', {
      hint: 'save the image to a file first',
    })
  if (flags.mark !== undefined && flags.output === undefined)
    throw new UsageError('--mark needs -o <png> to know where to write')
  if (flags.output !== undefined && flags.mark === undefined)
    throw new UsageError('-o goes with --mark <tiles>')
  return {
    input,
    grid: toGrid(flags.grid),
    json: flags.json === true,
    ...(flags.overlay !== undefined ? { overlay: flags.overlay } : {}),
    ...(flags.split !== undefined ? { split: flags.split } : {}),
    ...(flags.mark !== undefined && flags.output !== undefined
      ? { mark: { tiles: flags.mark, output: flags.output } }
      : {}),
  }
}

export function register(program: Command, ctx: CliContext, run = runGrid): void {
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
    .action((input: string, flags: GridFlags) => run(gridOptions(input, flags), ctx))
}

async function runGrid(options: GridOptions, ctx: CliContext): Promise<void> {
  const { input } = options
  const { isSameFile } = await import('../image/write.js')
  for (const out of [options.overlay, options.mark?.output]) {
    if (out !== undefined && (await isSameFile(out, input)))
      throw new UsageError(`${out} is the input; rc2 never writes over an input`, {
        hint: 'choose another output file',
      })
  }
  const image = await loadInput(input, ctx)
  const layout = await layoutOf(image, options)
  const written = await writeOutputs(image, layout, options)
  if (options.json) {
    const { width, height } = image
    const { kind, grid, crop, tiles } = layout
    const json = { schemaVersion: 1, input, kind, grid, width, height, crop, tiles, ...written }
    ctx.out.result(JSON.stringify(json, null, 2))
    return
  }
  const { renderLayoutTable } = await import('../output/render-layout.js')
  ctx.out.result(renderLayoutTable(input, image.width, image.height, layout))
  for (const [what, where] of Object.entries(written))
    ctx.out.info(
      `${what}: ${Array.isArray(where) ? `${where.length} files in ${options.split}` : where}`,
    )
}

/** The input's pixels; an http(s) URL is fetched as `rc2 solve` fetches it, within the default deadline. */
async function loadInput(input: string, ctx: CliContext): Promise<LoadedImage> {
  const [{ resolveSource }, { fetchInput, isUrlInput }] = await Promise.all([
    import('../image/load.js'),
    import('../inputs/fetch.js'),
  ])
  const source = isUrlInput(input)
    ? await fetchInput(input, {
        timeoutMs: 120_000,
        maxBytes: DEFAULT_MAX_BYTES,
        signal: ctx.signal,
      })
    : input
  return resolveSource(source, { name: input })
}

/** The layout found; with none, an --overlay still shows what was found, so the user can see why. */
async function layoutOf(image: LoadedImage, options: GridOptions): Promise<Layout> {
  const { resolveLayout } = await import('../image/prepare.js')
  const name = options.input
  try {
    return resolveLayout(image, {
      name,
      ...(options.grid !== undefined ? { grid: options.grid, gridSource: 'flag' as const } : {}),
    })
  } catch (error) {
    if (options.overlay === undefined || !(error instanceof InputError)) throw error
    const [{ diagnoseLayout }, { renderDiagnosis }] = await Promise.all([
      import('../image/detect.js'),
      import('../image/annotate.js'),
    ])
    const picture = await renderDiagnosis(image, diagnoseLayout(image.pixels), { name })
    await writeOut('--overlay', options.overlay, picture)
    throw new InputError(error.message, {
      code: error.code,
      hint: `${options.overlay} shows what rc2 found: header-shaped blue boxes (yellow, dashed), tiles that show (cyan), the closest grid (magenta, dashed)`,
    })
  }
}

/** The pictures and tiles asked for, written; what was written where. */
async function writeOutputs(
  image: LoadedImage,
  layout: Layout,
  options: GridOptions,
): Promise<Record<string, string | string[]>> {
  const [annotate, { splitTiles }] = await Promise.all([
    import('../image/annotate.js'),
    import('../image/tiles.js'),
  ])
  const name = options.input
  const written: Record<string, string | string[]> = {}
  if (options.overlay !== undefined) {
    await writeOut(
      '--overlay',
      options.overlay,
      await annotate.renderOverlay(image, layout, { name }),
    )
    written.overlay = options.overlay
  }
  if (options.mark !== undefined) {
    const { tiles, output } = options.mark
    await writeOut('-o', output, await annotate.renderAnnotated(image, layout, tiles, { name }))
    written.marked = output
  }
  if (options.split !== undefined)
    written.split = (await splitTiles(image, layout, options.split, { name })).map((t) => t.path)
  return written
}

async function writeOut(flag: string, path: string, data: Buffer): Promise<void> {
  const { writeFileNoFollow } = await import('../image/write.js')
  try {
    await writeFileNoFollow(path, data)
  } catch (error) {
    throw writeFailure(flag, path, error)
  }
}
