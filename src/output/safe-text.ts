/**
 * Text from outside (a service's error, a file name) must not drive the terminal: escape sequences
 * could clear the screen, retitle the window, or overwrite a line with a fake "ok" after a CR.
 * Control characters become visible `\uXXXX` escapes (valid inside a JSON string too).
 */

/** C0 except tab, DEL, C1, and the invisible or direction-changing format characters. */
const OUTSIDE_CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g

/**
 * What every write keeps: newlines and tabs (the writer's own), colour sequences (SGR, which chalk
 * adds); any other escape or control character is shown escaped.
 */
const WRITTEN_CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /\u001b(?!\[[0-9;]*m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** One line of outside text, safe to print: every control character escaped, newlines included. */
export function safeText(text: string): string {
  return text.replace(OUTSIDE_CONTROL, escapeChar)
}

/** A block about to be written: keeps newlines, tabs and colours; escapes anything else. */
export function safeBlock(text: string): string {
  return text.replace(WRITTEN_CONTROL, escapeChar)
}
