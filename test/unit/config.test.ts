import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { requireApiKey, resolveConfig } from '../../src/config/resolve.js'
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

describe('keys and endpoints per provider (§8.4)', () => {
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
