/**
 * Inputs given as http(s) URLs: fetched with the same deadline as an image
 * (--timeout), a size limit that holds while reading, redirects followed by hand and only to
 * http(s), and the body checked to be an image by its content before it is handled like a file.
 * Nothing of the service's (key, headers) is ever sent to the image's host: this is a bare GET.
 */
import { InputError, Rc2Error } from '../errors.js'
import { linkDeadline } from '../providers/deadline.js'
import { capText } from '../providers/redact.js'
import type { ProxyRoute, sendRequest as SendRequest, WireFailure } from '../providers/transport.js'

interface FetchInputOptions {
  timeoutMs: number
  maxBytes: number
  signal?: AbortSignal | undefined
  /** The proxies to go through (none: direct). */
  proxy?: ProxyRoute | undefined
}

/** Most redirects followed. */
const MAX_REDIRECTS = 5

export function isUrlInput(arg: string): boolean {
  return /^https?:\/\//i.test(arg)
}

/** A URL as shown in messages: no user:password. */
function shown(url: URL): string {
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return capText(copy.href)
}

/** Fetch the image at `url`; every failure is an Rc2Error naming the URL. */
export async function fetchInput(input: string, options: FetchInputOptions): Promise<Buffer> {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new InputError(`${input} is not a valid URL`, {
      hint: 'give a full http:// or https:// address',
    })
  }
  // One deadline over every hop; each request is ended by it.
  const deadline = linkDeadline(options.signal, options.timeoutMs)
  // The wire (undici) loads with the first address, not with every run of solve.
  const wire = await import('../providers/transport.js')
  try {
    return await fetchFollowing(url, input, options, deadline.signal, wire.sendRequest)
  } catch (error) {
    if (error instanceof Rc2Error) throw error
    if (!(error instanceof wire.WireFailure))
      throw new Rc2Error('network', `${input}: cannot fetch it (${String(error)})`, {
        hint: 'check the address',
      })
    if (error.kind === 'too_large')
      throw new InputError(
        `${input} is over the ${(options.maxBytes / 1048576).toFixed(1).replace(/\.0$/, '')} MB limit (rc2 stopped reading it there)`,
        {
          hint: 'a challenge image is far smaller: check the address, or raise image.maxBytes in the config',
        },
      )
    if (error.kind === 'aborted' || error.kind === 'timeout') {
      if (!deadline.timedOut() && options.signal?.reason instanceof Error)
        throw options.signal.reason
      const s = options.timeoutMs / 1000
      throw new Rc2Error(
        'timeout',
        `${input}: no complete image within ${Number.isInteger(s) ? s : s.toFixed(1)} s (--timeout)`,
        { hint: 'check the address, or raise --timeout for a slow server' },
      )
    }
    throw fetchFailure(input, error)
  } finally {
    deadline.dispose()
  }
}

/** A request that failed on the way: the proxy named when it was the proxy's fault. */
function fetchFailure(input: string, failure: WireFailure): Rc2Error {
  const code = failure.codes[0]
  if (failure.proxy !== undefined) {
    const { shown, status } = failure.proxy
    return new Rc2Error(
      'network',
      status === undefined
        ? `${input}: cannot reach the proxy ${shown}${code === undefined ? '' : ` (${code})`}`
        : `${input}: the proxy ${shown} refused it (HTTP ${status})`,
      {
        ...(code !== undefined ? { code } : {}),
        hint:
          status === 407
            ? "give the proxy's user and password in its URL (http://user:password@host:port)"
            : 'check --proxy, the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and that the proxy is up',
      },
    )
  }
  return new Rc2Error('network', `${input}: cannot fetch it (${code ?? failure.kind})`, {
    ...(code !== undefined ? { code } : {}),
    hint: 'check the address and your network',
  })
}

async function fetchFollowing(
  start: URL,
  input: string,
  options: FetchInputOptions,
  signal: AbortSignal,
  sendRequest: typeof SendRequest,
): Promise<Buffer> {
  let url = start
  for (let hop = 0; ; hop++) {
    checkHop(url, input)
    // Each hop checked here (the wire never follows one); no cookies, no credentials, no service headers.
    const reply = await sendRequest(url, {
      method: 'GET',
      headers: { accept: 'image/*' },
      signal,
      maxBytes: options.maxBytes,
      proxy: options.proxy,
    })
    if ([301, 302, 303, 307, 308].includes(reply.status)) {
      const location = reply.header('location')
      if (location === null || location.trim() === '')
        throw new InputError(`${input}: redirect ${reply.status} without a Location`, {})
      if (hop >= MAX_REDIRECTS)
        throw new InputError(`${input}: more than ${MAX_REDIRECTS} redirects`, {
          hint: 'give the final address of the image',
        })
      url = new URL(location, url)
      continue
    }
    if (reply.status < 200 || reply.status >= 300)
      throw new InputError(
        `${input}: the server answered ${reply.status}${reply.statusText === '' ? '' : ` ${capText(reply.statusText)}`}`,
        {
          code: `HTTP_${reply.status}`,
          hint:
            reply.status === 404 || reply.status === 410
              ? 'the image is gone: challenge images expire within minutes, capture a fresh one'
              : 'check the address',
        },
      )
    const bytes = reply.body
    checkLooksLikeImage(bytes, input, reply.header('content-type'))
    return bytes
  }
}

/** Refuse an address rc2 does not fetch, at every hop (the first and each redirect's). */
function checkHop(url: URL, input: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(
      `${input} redirects to ${url.protocol} (${shown(url)}); rc2 follows redirects to http and https only`,
      {
        hint: 'give the final http(s) address of the image',
      },
    )
  }
  // A user:password in an image address is refused at every hop: rc2 never sends it as a login.
  if (url.username !== '' || url.password !== '') {
    throw new Rc2Error(
      'network',
      `${shown(url)}: cannot fetch it (the address holds a user name or password, which rc2 does not send)`,
      {
        hint: 'check the address and your network',
      },
    )
  }
}

/** Refuse what is plainly not an image (a web page, JSON, empty); the image loader sniffs the rest. */
function checkLooksLikeImage(bytes: Buffer, input: string, contentType: string | null): void {
  if (bytes.length === 0)
    throw new InputError(`${input}: the server sent an empty body, not an image`, {
      hint: 'check the address',
    })
  const head = bytes.subarray(0, 256).toString('latin1').trimStart()
  if (head.startsWith('<') || head.startsWith('{') || head.startsWith('[')) {
    const kind = /<svg/i.test(head)
      ? 'an SVG drawing'
      : head.startsWith('<')
        ? 'a web page (HTML)'
        : 'JSON'
    throw new InputError(
      `${input} is ${kind}${contentType === null ? '' : ` (${capText(contentType.split(';')[0] ?? '')})`}, not an image`,
      {
        hint: "give the address of the image itself (on the page, the tile image's src), not of the page",
      },
    )
  }
}
