import en from 'zod/v4/locales/en.js'

/**
 * Parse options that give zod's English messages ("Too small: expected number to be >=1").
 * The schemas use zod/mini, which the CLI's bundle holds in about 30 kB (full zod cannot be
 * tree-shaken: loading it cost a run about 120 ms of CPU). zod/mini carries no messages of its own,
 * and setting them with z.config would change the messages of an application's own zod too.
 */
export const ENGLISH = { error: en().localeError } as const
