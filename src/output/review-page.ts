/**
 * The page `rc2 view` writes: one self-contained HTML file (pictures inlined, no request to
 * anywhere: the Content-Security-Policy forbids it) with a card per input, the failures grouped
 * by kind, a filter, and the `rc2 report` command for the answers picked as wrong.
 * Pure: data in, text out. Every string from outside (file names, messages) is escaped.
 */
import { createHash } from 'node:crypto'

export interface ReviewCard {
  /** The results file the record came from, as named on the command line. */
  file: string
  input: string
  ok: boolean
  question?: { id: string; name: string } | undefined
  grid?: string | undefined
  objects?: readonly number[] | undefined
  checked?: readonly number[] | undefined
  provider?: string | undefined
  points?: number | null | undefined
  elapsedMs?: number | undefined
  taskId?: string | null | undefined
  /** Why this answer cannot be reported, if it cannot (no task id, no report call). */
  notReportable?: string | undefined
  error?: { kind: string; code: string | null; message: string; hint: string | null } | undefined
  picture?: { jpeg: Buffer; width: number; height: number; marked: boolean } | undefined
  /** Why there is no picture (the file is gone, or not an image). */
  noPicture?: string | undefined
}

export interface ReviewPage {
  files: readonly string[]
  cards: readonly ReviewCard[]
  /** What the skipped lines were, per file. */
  warnings: readonly string[]
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

const STYLE = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f3f4f7; }
body { margin: 0 0 7rem; }
header, main, section.failures { max-width: 1200px; margin: 0 auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 1rem 0 .2rem; }
.summary { color: #555; margin: 0 0 .8rem; }
.filter { display: flex; gap: 1rem; margin: .5rem 0 1rem; }
.filter label { cursor: pointer; padding: .2rem .6rem; border-radius: 1rem; background: #e2e5ec; }
.filter input { margin-right: .3rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 1rem; }
.card { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px #0002; padding: .7rem; border-top: 4px solid #2e9d5b; }
.card.failed { border-top-color: #d23c3c; }
.card.picked { outline: 3px solid #e58a00; }
.card h2 { font-size: .95rem; margin: 0 0 .4rem; word-break: break-all; }
.card img { display: block; max-width: 100%; height: auto; margin: 0 auto .5rem; border-radius: 4px; }
.nopic { background: #eef0f4; color: #777; padding: 1.5rem .5rem; text-align: center; margin-bottom: .5rem; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .6rem; margin: 0; }
dt { color: #777; } dd { margin: 0; word-break: break-word; }
.error { color: #a32020; } .hint { color: #555; }
.wrong { display: block; margin-top: .5rem; cursor: pointer; }
.muted { color: #888; font-size: .85rem; margin-top: .5rem; }
section.failures { margin-bottom: 1rem; }
.kind { background: #fff; border-left: 4px solid #d23c3c; padding: .5rem .8rem; margin: .4rem 0; border-radius: 4px; }
.kind a { color: #1d4fa8; margin-right: .6rem; }
body[data-filter="answered"] .card.failed, body[data-filter="failed"] .card.answered { display: none; }
footer { position: fixed; bottom: 0; left: 0; right: 0; background: #1d2330; color: #fff; padding: .6rem 1rem; }
footer code { display: block; white-space: pre-wrap; word-break: break-all; background: #0005; padding: .4rem; margin: .3rem 0; border-radius: 4px; min-height: 1.2em; }
footer button { font: inherit; padding: .2rem .8rem; cursor: pointer; }
`

const SCRIPT = `
const body = document.body
function applyFilter(value) {
  body.dataset.filter = value
  const radio = document.querySelector('input[name="filter"][value="' + value + '"]')
  if (radio) radio.checked = true
}
for (const radio of document.querySelectorAll('input[name="filter"]'))
  radio.addEventListener('change', () => applyFilter(radio.value))
const start = location.hash.slice(1)
if (start === 'answered' || start === 'failed') applyFilter(start)

function quote(word) {
  return /^[\\w@%+=:,./-]+$/.test(word) ? word : "'" + word.replace(/'/g, "'\\\\''") + "'"
}
const command = document.getElementById('command')
const count = document.getElementById('count')
function update() {
  const byFile = new Map()
  let n = 0
  for (const box of document.querySelectorAll('input.wrong-box')) {
    const card = box.closest('.card')
    card.classList.toggle('picked', box.checked)
    if (!box.checked) continue
    n++
    const list = byFile.get(card.dataset.file) || []
    list.push(card.dataset.input)
    byFile.set(card.dataset.file, list)
  }
  const lines = []
  for (const [file, inputs] of byFile)
    lines.push('rc2 report --from ' + quote(file) + ' --input ' + inputs.map(quote).join(' '))
  command.textContent = lines.join('\\n')
  count.textContent = n === 0 ? 'Pick the answers that look wrong.' : n + ' answer' + (n === 1 ? '' : 's') + ' picked as wrong:'
}
for (const box of document.querySelectorAll('input.wrong-box')) box.addEventListener('change', update)
document.getElementById('copy').addEventListener('click', () => {
  const text = command.textContent
  const select = () => {
    const range = document.createRange()
    range.selectNodeContents(command)
    getSelection().removeAllRanges()
    getSelection().addRange(range)
  }
  if (navigator.clipboard) navigator.clipboard.writeText(text).catch(select)
  else select()
})
update()
`

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`
}

function row(term: string, value: string): string {
  return `<dt>${term}</dt><dd>${value}</dd>`
}

function tiles(list: readonly number[]): string {
  return list.length === 0 ? 'none' : list.join(', ')
}

function picture(card: ReviewCard): string {
  if (card.picture === undefined)
    return `<div class="nopic">${escapeHtml(card.noPicture ?? 'no picture')}</div>`
  const { jpeg, width, height, marked } = card.picture
  const alt = marked ? `${card.input} with the chosen tiles marked` : card.input
  return `<img src="data:image/jpeg;base64,${jpeg.toString('base64')}" width="${width}" height="${height}" alt="${escapeHtml(alt)}">`
}

function answerRows(card: ReviewCard): string[] {
  const rows: string[] = []
  if (card.question !== undefined)
    rows.push(
      row('question', `${escapeHtml(card.question.name)} (${escapeHtml(card.question.id)})`),
    )
  if (card.ok) {
    if (card.checked !== undefined) rows.push(row('checked', escapeHtml(tiles(card.checked))))
    rows.push(
      row(
        'click',
        `${escapeHtml(tiles(card.objects ?? []))} <span class="muted">(tiles from 0)</span>`,
      ),
    )
  }
  if (card.grid !== undefined) rows.push(row('grid', escapeHtml(card.grid)))
  if (card.provider !== undefined) rows.push(row('provider', escapeHtml(card.provider)))
  if (card.points !== undefined)
    rows.push(row('points', card.points === null ? 'unknown' : escapeHtml(String(card.points))))
  if (card.elapsedMs !== undefined)
    rows.push(row('time', `${escapeHtml((card.elapsedMs / 1000).toFixed(1))} s`))
  if (card.taskId != null) rows.push(row('task', escapeHtml(card.taskId)))
  return rows
}

function renderCard(card: ReviewCard, index: number): string {
  const status = card.ok ? 'answered' : 'failed'
  const error =
    card.error === undefined
      ? ''
      : `<p class="error">${escapeHtml(card.error.kind)}: ${escapeHtml(card.error.message)}${card.error.code === null ? '' : ` [${escapeHtml(card.error.code)}]`}</p>${card.error.hint === null ? '' : `<p class="hint">hint: ${escapeHtml(card.error.hint)}</p>`}`
  const report = !card.ok
    ? ''
    : card.notReportable !== undefined
      ? `<p class="muted">${escapeHtml(card.notReportable)}</p>`
      : `<label class="wrong"><input type="checkbox" class="wrong-box"> looks wrong</label>`
  return `<article class="card ${status}" id="card-${index}" data-file="${escapeHtml(card.file)}" data-input="${escapeHtml(card.input)}">
<h2>${escapeHtml(card.input)}</h2>
${picture(card)}
<dl>${answerRows(card).join('')}</dl>
${error}${report}
</article>`
}

/** The failures by kind: how many, the hints given, and a link to each card. */
function renderFailures(cards: readonly ReviewCard[]): string {
  const byKind = new Map<string, { index: number; card: ReviewCard }[]>()
  cards.forEach((card, index) => {
    if (card.ok || card.error === undefined) return
    const list = byKind.get(card.error.kind) ?? []
    list.push({ index, card })
    byKind.set(card.error.kind, list)
  })
  if (byKind.size === 0) return ''
  const kinds = [...byKind].map(([kind, list]) => {
    const hints = [...new Set(list.map((x) => x.card.error?.hint).filter((h) => h != null))]
    return `<div class="kind"><strong>${escapeHtml(kind)}</strong>: ${list.length}
${hints.map((h) => `<p class="hint">hint: ${escapeHtml(h as string)}</p>`).join('')}
<p>${list.map((x) => `<a href="#card-${x.index}">${escapeHtml(x.card.input)}</a>`).join('')}</p></div>`
  })
  return `<section class="failures"><h2>Failures by kind</h2>${kinds.join('\n')}</section>`
}

export function renderReviewPage(page: ReviewPage): string {
  const answered = page.cards.filter((c) => c.ok).length
  const failed = page.cards.length - answered
  const points = page.cards.reduce((sum, c) => sum + (c.points ?? 0), 0)
  const csp = `default-src 'none'; img-src data:; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; base-uri 'none'; form-action 'none'`
  const filter = (value: string, label: string, n: number, checked = false): string =>
    `<label><input type="radio" name="filter" value="${value}"${checked ? ' checked' : ''}>${label} (${n})</label>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rc2 review: ${escapeHtml(page.files.join(', '))}</title>
<style>${STYLE}</style>
</head>
<body data-filter="all">
<header>
<h1>rc2 review</h1>
<p class="summary">${escapeHtml(page.files.join(', '))}: ${page.cards.length} input${page.cards.length === 1 ? '' : 's'}, ${answered} answered, ${failed} failed, ${points} points</p>
${page.warnings.map((w) => `<p class="hint">${escapeHtml(w)}</p>`).join('\n')}
<form class="filter">${filter('all', 'all', page.cards.length, true)}${filter('answered', 'answered', answered)}${filter('failed', 'failed', failed)}</form>
</header>
${renderFailures(page.cards)}
<main class="cards">
${page.cards.map(renderCard).join('\n')}
</main>
<footer><span id="count"></span><code id="command"></code><button type="button" id="copy">Copy the command</button></footer>
<script>${SCRIPT}</script>
</body>
</html>
`
}
