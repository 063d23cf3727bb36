import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { type ConfigFile, requireApiKey, resolveConfig } from '../../src/config/resolve.js'
import { ConfigError } from '../../src/errors.js'

describe('resolveConfig (pure merge)', () => {
  it('uses the defaults when nothing is given', () => {
    const c = resolveConfig({ env: {}, flags: {} })
    expect(c).toMatchObject({
      provider: 'yescaptcha',
      timeout: 120,
      retries: 3,
      concurrency: 4,
      format: 'table',
      allowInsecure: false,
    })
    expect(c.apiKey).toBeUndefined()
    expect(c.image).toMatchObject({ format: 'jpeg', maxPixels: 40_000_000 })
  })

  it('applies flags > env > file > defaults', () => {
    const file = {
      provider: 'acedata',
      timeout: 30,
      providers: {
        acedata: { apiKey: 'file-key', endpoint: 'https://file.example' },
        capsolver: { apiKey: 'cap-file' },
      },
    }
    const fileOnly = resolveConfig({ file, env: {}, flags: {} })
    expect(fileOnly).toMatchObject({
      provider: 'acedata',
      apiKey: 'file-key',
      keySource: 'file',
      endpoint: 'https://file.example',
      timeout: 30,
    })

    const withEnv = resolveConfig({
      file,
      env: { RC2_API_KEY: 'env-key', RC2_ENDPOINT: 'https://env.example' },
      flags: {},
    })
    expect(withEnv).toMatchObject({
      apiKey: 'env-key',
      keySource: 'env',
      endpoint: 'https://env.example',
    })

    const withFlags = resolveConfig({
      file,
      env: { RC2_API_KEY: 'env-key' },
      flags: { key: 'flag-key', endpoint: 'http://127.0.0.1:9', timeout: 5 },
    })
    expect(withFlags).toMatchObject({
      apiKey: 'flag-key',
      keySource: 'flag',
      endpoint: 'http://127.0.0.1:9',
      timeout: 5,
    })
  })

  it('takes the key of the provider chosen by env or flag', () => {
    const file = { providers: { yescaptcha: { apiKey: 'yes' }, capsolver: { apiKey: 'cap' } } }
    expect(resolveConfig({ file, env: { RC2_PROVIDER: 'capsolver' }, flags: {} }).apiKey).toBe(
      'cap',
    )
    expect(
      resolveConfig({ file, env: { RC2_PROVIDER: 'capsolver' }, flags: { provider: 'yescaptcha' } })
        .apiKey,
    ).toBe('yes')
  })

  it.each([
    [{ timeout: 'soon' }, /timeout/],
    [{ provider: 'nope' }, /provider/],
    [{ providers: { yescaptcha: { apiKey: 42 } } }, /providers\.yescaptcha\.apiKey/],
    [{ providers: { yescaptcha: { endpoint: 'not a url' } } }, /providers\.yescaptcha\.endpoint/],
    [{ colour: true }, /colour/],
    [{ image: { quality: 0 } }, /image\.quality/],
  ])('names the key path of a bad value: %j', (file, pattern) => {
    expect(() =>
      resolveConfig({ file, fileOrigin: '/x/.recaptcharc', env: {}, flags: {} }),
    ).toThrow(pattern)
    try {
      resolveConfig({ file, fileOrigin: '/x/.recaptcharc', env: {}, flags: {} })
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).exitCode).toBe(3)
      expect((error as ConfigError).message).toContain('/x/.recaptcharc')
    }
  })

  it('refuses a bad RC2_PROVIDER and a non-http endpoint', () => {
    expect(() => resolveConfig({ env: { RC2_PROVIDER: 'twocaptcha' }, flags: {} })).toThrow(
      /RC2_PROVIDER/,
    )
    expect(() => resolveConfig({ env: { RC2_ENDPOINT: 'ftp://x' }, flags: {} })).toThrow(
      /RC2_ENDPOINT/,
    )
  })

  it('says where to put a missing key, and never shows a present one', () => {
    const missing = resolveConfig({ env: {}, flags: { provider: 'capsolver' } })
    expect(() => requireApiKey(missing)).toThrow(ConfigError)
    try {
      requireApiKey(missing)
    } catch (error) {
      expect((error as ConfigError).hint).toMatch(/RC2_API_KEY/)
      expect((error as ConfigError).hint).toMatch(/providers\.capsolver\.apiKey/)
    }
    expect(requireApiKey(resolveConfig({ env: { RC2_API_KEY: 'k-123' }, flags: {} }))).toBe('k-123')
  })
})

describe('loadConfig (files)', () => {
  let dir: string
  let home: string
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rc2-config-'))
    home = await mkdtemp(join(tmpdir(), 'rc2-home-'))
    warnings.length = 0
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  })

  it('finds .recaptcharc (YAML) in the working directory', async () => {
    await writeFile(
      join(dir, '.recaptcharc'),
      'provider: capsolver\nproviders:\n  capsolver:\n    apiKey: cap-key\n',
      { mode: 0o600 },
    )
    const c = await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })
    expect(c).toMatchObject({
      provider: 'capsolver',
      apiKey: 'cap-key',
      origin: join(dir, '.recaptcharc'),
    })
    expect(warnings).toEqual([])
  })

  it('reads package.json#recaptcha and .recaptcharc.json', async () => {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'x', recaptcha: { retries: 7 } }),
    )
    expect((await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })).retries).toBe(7)
    await writeFile(join(dir, '.recaptcharc.json'), JSON.stringify({ retries: 5 }))
    expect((await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })).retries).toBe(5)
  })

  it('falls back to ~/.config/rc2/config.json', async () => {
    await mkdir(join(home, '.config', 'rc2'), { recursive: true })
    await writeFile(join(home, '.config', 'rc2', 'config.json'), JSON.stringify({ concurrency: 9 }))
    const c = await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })
    expect(c.concurrency).toBe(9)
    expect(c.origin).toBe(join(home, '.config', 'rc2', 'config.json'))
  })

  it('uses --config / RC2_CONFIG and reports a missing or broken file', async () => {
    const path = join(dir, 'custom.json')
    await writeFile(path, JSON.stringify({ timeout: 9 }))
    expect(
      (
        await loadConfig({
          cwd: dir,
          env: { HOME: home, RC2_CONFIG: 'custom.json' },
          flags: {},
          warn,
        })
      ).timeout,
    ).toBe(9)
    expect(
      (await loadConfig({ cwd: dir, configPath: path, env: { HOME: home }, flags: {}, warn }))
        .timeout,
    ).toBe(9)
    await expect(
      loadConfig({ cwd: dir, configPath: 'missing.json', env: { HOME: home }, flags: {}, warn }),
    ).rejects.toThrow(/does not exist/)
    await writeFile(join(dir, 'broken.json'), '{ "timeout": ')
    await expect(
      loadConfig({ cwd: dir, configPath: 'broken.json', env: { HOME: home }, flags: {}, warn }),
    ).rejects.toThrow(ConfigError)
  })

  it('warns when a file holding a key is readable by others, without printing the key', async () => {
    const path = join(dir, '.recaptcharc.json')
    await writeFile(
      path,
      JSON.stringify({ providers: { yescaptcha: { apiKey: 'super-secret-key' } } }),
    )
    await chmod(path, 0o644)
    await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })
    expect(warnings.join('\n')).toMatch(/readable by other users.*chmod 600/)
    expect(warnings.join('\n')).not.toContain('super-secret-key')
    warnings.length = 0
    await chmod(path, 0o600)
    await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })
    expect(warnings).toEqual([])
  })

  it('accepts the documented .recaptcharc.example as it is', async () => {
    const example = await readFile(new URL('../../.recaptcharc.example', import.meta.url), 'utf8')
    await writeFile(join(dir, '.recaptcharc'), example, { mode: 0o600 })
    const c = await loadConfig({ cwd: dir, env: { HOME: home }, flags: {}, warn })
    expect(c.provider).toBe('yescaptcha')
    expect(c.keySource).toBe('file')
  })
})

describe('keys and endpoints per provider', () => {
  it('reads RC2_<NAME>_API_KEY and RC2_<NAME>_ENDPOINT, more specific than RC2_API_KEY / RC2_ENDPOINT', () => {
    const env = {
      RC2_API_KEY: 'general',
      RC2_2CAPTCHA_API_KEY: 'two-key',
      RC2_2CAPTCHA_ENDPOINT: 'http://127.0.0.1:7/2captcha',
      RC2_ENDPOINT: 'https://general.example',
    }
    const c = resolveConfig({ env, flags: { provider: '2captcha' } })
    expect(c).toMatchObject({
      provider: '2captcha',
      apiKey: 'two-key',
      keySource: 'env',
      endpoint: 'http://127.0.0.1:7/2captcha',
    })
    expect(
      resolveConfig({ env: { RC2_API_KEY: 'general' }, flags: { provider: 'capmonster' } }).apiKey,
    ).toBe('general')
    // The flag still wins when one provider is named.
    expect(resolveConfig({ env, flags: { provider: '2captcha', key: 'flag-key' } })).toMatchObject({
      apiKey: 'flag-key',
      keySource: 'flag',
    })
  })

  it('takes a failover list in any case, each provider with its own key and endpoint', () => {
    const file = {
      providers: {
        capsolver: { apiKey: 'cap-file', endpoint: 'https://cap.example' },
        nopecha: { apiKey: 'nope-file' },
      },
    }
    const env = {
      RC2_YESCAPTCHA_API_KEY: 'yes-env',
      RC2_API_KEY: 'general-ignored',
      RC2_ENDPOINT: 'https://ignored.example',
    }
    const c = resolveConfig({ file, env, flags: { provider: 'YesCaptcha,capsolver,NOPECHA' } })
    expect(c.providerList).toEqual(['yescaptcha', 'capsolver', 'nopecha'])
    expect(c.provider).toBe('yescaptcha')
    const fromFile = { layer: 'project', where: 'the config file' }
    expect(c.credentials).toEqual({
      yescaptcha: {
        apiKey: 'yes-env',
        keySource: 'env',
        keyFrom: { layer: 'env', where: 'RC2_YESCAPTCHA_API_KEY' },
        endpoint: undefined,
        endpointFrom: undefined,
        region: undefined,
      },
      capsolver: {
        apiKey: 'cap-file',
        keySource: 'file',
        keyFrom: fromFile,
        endpoint: 'https://cap.example',
        endpointFrom: fromFile,
        region: undefined,
      },
      nopecha: {
        apiKey: 'nope-file',
        keySource: 'file',
        keyFrom: fromFile,
        endpoint: undefined,
        endpointFrom: undefined,
        region: undefined,
      },
    })
    expect(
      resolveConfig({ file: { provider: ['capsolver', 'CapMonster'] }, env: {}, flags: {} })
        .providerList,
    ).toEqual(['capsolver', 'capmonster'])
    expect(resolveConfig({ file: {}, env: { RC2_PROVIDER: '2Captcha' }, flags: {} }).provider).toBe(
      '2captcha',
    )
  })

  it('refuses --key / --endpoint with several providers, a provider named twice, and names the missing key', () => {
    expect(() =>
      resolveConfig({ env: {}, flags: { provider: 'yescaptcha,capsolver', key: 'k' } }),
    ).toThrow(/--key applies to one provider/)
    expect(() =>
      resolveConfig({
        env: {},
        flags: { provider: 'yescaptcha,capsolver', endpoint: 'https://x.example' },
      }),
    ).toThrow(/--endpoint applies to one provider/)
    expect(() => resolveConfig({ env: {}, flags: { provider: 'capsolver,CAPSOLVER' } })).toThrow(
      /named twice/,
    )
    const c = resolveConfig({
      env: { RC2_YESCAPTCHA_API_KEY: 'y' },
      flags: { provider: 'yescaptcha,2captcha' },
    })
    expect(requireApiKey(c, 'yescaptcha')).toBe('y')
    expect(() => requireApiKey(c, '2captcha')).toThrow(/no API key for 2captcha/)
    try {
      requireApiKey(c, '2captcha')
    } catch (error) {
      expect((error as ConfigError).hint).toContain('RC2_2CAPTCHA_API_KEY')
      expect((error as ConfigError).hint).toContain('providers.2captcha.apiKey')
    }
  })
})

describe('layers: the user file under the project file, and what a project file may do', () => {
  const user = (content: unknown): ConfigFile => ({
    path: '/home/u/.config/rc2/config.json',
    origin: 'user',
    content,
  })
  const project = (content: unknown): ConfigFile => ({
    path: '/p/.recaptcharc',
    origin: 'project',
    content,
  })

  it('merges key by key: preferences from the project, providers deeply, a null block leaves the user one', () => {
    const c = resolveConfig({
      files: [
        user({
          format: 'json',
          retries: 5,
          providers: { yescaptcha: { apiKey: 'user-key' }, capsolver: { apiKey: 'cap' } },
        }),
        project({ format: 'ndjson', providers: { yescaptcha: { region: 'cn' }, capsolver: null } }),
      ],
      env: {},
      flags: {},
    })
    expect(c).toMatchObject({ format: 'ndjson', retries: 5, apiKey: 'user-key', region: 'cn' })
    expect(c.providers.capsolver).toEqual({ apiKey: 'cap' })
    expect(c.credentials.yescaptcha?.keyFrom).toEqual({
      layer: 'user',
      where: '/home/u/.config/rc2/config.json',
    })
    expect(c.origin).toBe('/p/.recaptcharc')
    expect(c.notices).toEqual([])
  })

  it('a project may lower maxPoints, image.maxBytes, image.maxPixels, never raise them; flags still may', () => {
    const lower = resolveConfig({
      files: [user({ maxPoints: 6 }), project({ maxPoints: 2, image: { maxPixels: 1000 } })],
      env: {},
      flags: {},
    })
    expect(lower.maxPoints).toBe(2)
    expect(lower.image.maxPixels).toBe(1000)
    expect(lower.notices).toEqual([])

    const raise = resolveConfig({
      files: [
        user({ maxPoints: 6 }),
        project({ maxPoints: 24, image: { maxPixels: 400_000_000, maxBytes: 10 } }),
      ],
      env: {},
      flags: {},
    })
    expect(raise.maxPoints).toBe(6)
    expect(raise.image).toMatchObject({ maxPixels: 40_000_000, maxBytes: 10 })
    expect(raise.notices).toHaveLength(2)
    expect(raise.notices[0]).toMatch(
      /^maxPoints: 24 in \/p\/\.recaptcharc ignored: .* it stays 6 \(\/home\/u\/\.config\/rc2\/config\.json\)/,
    )
    expect(raise.notices[1]).toMatch(
      /^image\.maxPixels: 400000000 in .* it stays 40000000 \(rc2's default\)/,
    )

    // No limit set by the user or the defaults: any maxPoints is a tightening.
    expect(
      resolveConfig({ files: [project({ maxPoints: 99 })], env: {}, flags: {} }).maxPoints,
    ).toBe(99)
    const flag = resolveConfig({
      files: [user({ maxPoints: 6 })],
      env: {},
      flags: { maxPoints: 60 },
    })
    expect(flag.maxPoints).toBe(60)
  })

  it('a proxy counts from the user file, not from a project file (which is said)', () => {
    const proxied = {
      proxy: 'http://p:8080',
      providers: { yescaptcha: { proxy: 'http://q:8080' } },
    }
    const mine = resolveConfig({ files: [user(proxied)], env: {}, flags: {} })
    expect(mine.proxy).toBe('http://p:8080')
    expect(mine.providers.yescaptcha?.proxy).toBe('http://q:8080')
    const theirs = resolveConfig({
      files: [user({ proxy: 'http://mine:3128' }), project(proxied)],
      env: {},
      flags: {},
    })
    expect(theirs.proxy).toBe('http://mine:3128')
    expect(theirs.providers.yescaptcha?.proxy).toBeUndefined()
    expect(theirs.notices).toEqual([
      expect.stringContaining('proxy, providers.yescaptcha.proxy in /p/.recaptcharc is not used'),
    ])
  })

  it('allowInsecure counts from the user file, not from a project file', () => {
    expect(
      resolveConfig({ files: [user({ allowInsecure: true })], env: {}, flags: {} }).allowInsecure,
    ).toBe(true)
    const c = resolveConfig({ files: [project({ allowInsecure: true })], env: {}, flags: {} })
    expect(c.allowInsecure).toBe(false)
    expect(c.insecureIgnoredFrom).toBe('/p/.recaptcharc')
  })

  it('a project endpoint is used only with a key from that same file', () => {
    const endpoint = { providers: { yescaptcha: { endpoint: 'https://evil.example/x' } } }
    const refuse = (c: ReturnType<typeof resolveConfig>, from: string): void => {
      expect(() => requireApiKey(c)).toThrow(ConfigError)
      expect(() => requireApiKey(c)).toThrow(
        `yescaptcha: refusing to send your API key (from ${from}) to https://evil.example/x, the endpoint set by providers.yescaptcha.endpoint in /p/.recaptcharc`,
      )
    }
    refuse(
      resolveConfig({ files: [project(endpoint)], env: { RC2_API_KEY: 'k' }, flags: {} }),
      'RC2_API_KEY',
    )
    refuse(resolveConfig({ files: [project(endpoint)], env: {}, flags: { key: 'k' } }), '--key')
    refuse(
      resolveConfig({
        files: [user({ providers: { yescaptcha: { apiKey: 'k' } } }), project(endpoint)],
        env: {},
        flags: {},
      }),
      'providers.yescaptcha.apiKey in /home/u/.config/rc2/config.json',
    )
    const own = project({
      providers: { yescaptcha: { apiKey: 'own', endpoint: 'https://evil.example' } },
    })
    expect(requireApiKey(resolveConfig({ files: [own], env: {}, flags: {} }))).toBe('own')
    // The same endpoint from the user's own file, or the environment, is the user's choice.
    const mine = user({ providers: { yescaptcha: { endpoint: 'https://mine.example' } } })
    expect(
      requireApiKey(resolveConfig({ files: [mine], env: { RC2_API_KEY: 'k' }, flags: {} })),
    ).toBe('k')
    const overridden = resolveConfig({
      files: [project(endpoint)],
      env: { RC2_API_KEY: 'k', RC2_YESCAPTCHA_ENDPOINT: 'https://mine.example' },
      flags: {},
    })
    expect(requireApiKey(overridden)).toBe('k')
  })

  it('a key outside printable Latin-1, or with a control character, is refused without showing it', () => {
    for (const [key, what] of [
      ['abc\u201cdef', 'the character U+201C at position 4'],
      ['abc\ndef', 'a control character (U+000A) at position 4'],
      ['ab\u0085', 'a control character (U+0085) at position 3'],
      ['key\u{1F511}', 'the character U+1F511 at position 4'],
    ] as const) {
      const c = resolveConfig({ env: {}, flags: { key } })
      expect(() => requireApiKey(c)).toThrow(`the API key for yescaptcha from --key holds ${what}`)
      try {
        requireApiKey(c)
      } catch (error) {
        expect((error as ConfigError).message).not.toContain(key)
      }
    }
    expect(requireApiKey(resolveConfig({ env: {}, flags: { key: 'clé-é' } }))).toBe('clé-é')
  })
})

describe('unknown keys', () => {
  it('inside a list (serve.clients) name the keys known there, or the one that was meant', async () => {
    const { validateConfig } = await import('../../src/config/schema.js')
    const clients = [
      { key: 'abcdefghij', maxpoints: 5 },
      { key: 'kkkkkkkkkk', foo: 1 },
    ]
    expect(() => validateConfig({ serve: { clients } }, 'x.yaml')).toThrow(
      'serve.clients.0.maxpoints: unknown key; did you mean "maxPoints"?; serve.clients.1.foo: unknown key (known here: key, name, maxPoints, maxPointsPerHour)',
    )
  })
})

describe('values out of range', () => {
  it('are said in English with their dotted key, every one in one message', async () => {
    const { validateConfig } = await import('../../src/config/schema.js')
    const raw = {
      concurrency: 0,
      retries: 1.5,
      format: 'xml',
      image: { quality: 101 },
      provider: 'yescaptcha,YesCaptcha',
      serve: { redis: 'http://h' },
    }
    expect(() => validateConfig(raw, 'x.yaml')).toThrow(
      'invalid configuration (x.yaml): provider: a provider is named twice; ' +
        'retries: Invalid input: expected int, received number; ' +
        'concurrency: Too small: expected number to be >=1; ' +
        'format: Invalid option: expected one of "table"|"json"|"ndjson"|"csv"; ' +
        'image.quality: Too big: expected number to be <=100; ' +
        'serve.redis: a redis:// or rediss:// address',
    )
  })
})
