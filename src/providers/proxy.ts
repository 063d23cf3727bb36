/**
 * Which proxy a request goes through, as curl and npm decide it: `--proxy` or the config's `proxy`
 * when given, else HTTPS_PROXY for https and HTTP_PROXY for http (the lower-case names first), and
 * never for a host NO_PROXY lists (undici's EnvHttpProxyAgent applies it: `*`, a host, `.domain`,
 * `host:port`). The route is plain data, checked here; transport.ts builds the agents from it.
 */
import { ConfigError, UsageError } from '../errors.js'
import { renderProxy } from './redact.js'
import type { ProxyRoute } from './transport.js'

type Env = Readonly<Record<string, string | undefined>>

/** A proxy set on purpose: its URL and where it was set ("--proxy", "proxy in the config"). */
export interface ExplicitProxy {
  url: string
  from: string
}

function envValue(env: Env, name: string): { value: string; from: string } | undefined {
  for (const key of [name.toLowerCase(), name.toUpperCase()]) {
    const value = env[key]?.trim()
    if (value !== undefined && value !== '') return { value, from: key }
  }
  return undefined
}

/**
 * A proxy URL checked: http(s) only; "host:port" alone means http://host:port, as curl reads it.
 * A malformed --proxy is a usage error (exit 2); one from a config or the environment, a config error.
 */
function checkProxyUrl(value: string, from: string): string {
  const Refusal = from === '--proxy' ? UsageError : ConfigError
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new Refusal(`the proxy set by ${from} is not a valid URL`, {
      hint: 'give the proxy as http://host:port (or http://user:password@host:port)',
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Refusal(
      `the proxy ${renderProxy(url)} set by ${from} uses ${url.protocol.slice(0, -1)}; rc2 speaks to http and https proxies`,
      { hint: 'give the proxy as http://host:port' },
    )
  return url.href
}

/** The route for one run (or one provider): `explicit` for both schemes, else the environment's. */
export function resolveProxyRoute(explicit: ExplicitProxy | undefined, env: Env): ProxyRoute {
  const noProxy = envValue(env, 'no_proxy')?.value
  if (explicit !== undefined) {
    const url = checkProxyUrl(explicit.url, explicit.from)
    return { httpProxy: url, httpsProxy: url, noProxy }
  }
  const http = envValue(env, 'http_proxy')
  const https = envValue(env, 'https_proxy')
  return {
    httpProxy: http === undefined ? undefined : checkProxyUrl(http.value, http.from),
    httpsProxy: https === undefined ? undefined : checkProxyUrl(https.value, https.from),
    noProxy,
  }
}

/** The login of every proxy in the route, to be masked wherever rc2 prints. */
export function proxySecrets(route: ProxyRoute): string[] {
  const secrets: string[] = []
  for (const proxy of [route.httpProxy, route.httpsProxy]) {
    if (proxy === undefined) continue
    const url = new URL(proxy)
    for (const part of [url.password, url.username])
      if (part !== '') secrets.push(part, decodeURIComponent(part))
  }
  return secrets
}

/** One line for --verbose: where requests go, logins masked. */
export function describeProxyRoute(route: ProxyRoute): string | undefined {
  if (route.httpProxy === undefined && route.httpsProxy === undefined) return undefined
  const shown = (proxy: string | undefined): string =>
    proxy === undefined ? 'direct' : renderProxy(proxy)
  const bypass = route.noProxy === undefined ? '' : `; not for NO_PROXY hosts (${route.noProxy})`
  return `proxy: https through ${shown(route.httpsProxy)}, http through ${shown(route.httpProxy)}${bypass}`
}
