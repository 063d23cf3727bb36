/**
 * The English instruction the widget would show for an id and a grid, for the services that take
 * text instead of an `/m/` id (2Captcha, NopeCHA, CapMonster). Pure. The sentence templates are the
 * English ones the parser reads ("Select all images with {X}" for a 3x3 and its 1x1 refresh,
 * "Select all squares with {X}" for a 4x4), so what rc2 sends is what it would itself recognise.
 */
import type { Grid } from '../types.js'
import type { QuestionEntry } from './types.js'

const TEMPLATE: Record<Grid, string> = {
  '3x3': 'Select all images with {X}',
  '1x1': 'Select all images with {X}',
  '4x4': 'Select all squares with {X}',
}

/**
 * The object as the challenge names it: the plural of the label when the table has one ("buses",
 * "fire hydrants"), else the label with its article when the table shows one ("a school bus"),
 * else the label itself ("cars", "traffic lights").
 */
function instructionObject(entry: QuestionEntry): string {
  const names = entry.names.en ?? []
  const label = entry.en
  const plural = names.find((name) => name === `${label}s` || name === `${label}es`)
  if (plural !== undefined) return plural
  return names.find((name) => name === `a ${label}` || name === `an ${label}`) ?? label
}

/** "Select all images with buses" (3x3, 1x1) or "Select all squares with buses" (4x4). */
export function instructionText(entry: QuestionEntry, grid: Grid): string {
  return TEMPLATE[grid].replace('{X}', instructionObject(entry))
}
