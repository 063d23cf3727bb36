/**
 * Modules a solve needs per input, imported on first use and kept: import() again for every input
 * costs a module-loader lookup each time, and importing them up front would load them (and their
 * tables) for commands that never solve.
 */
function importOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined
  return () => (loading ??= load())
}

export const prepareModule = importOnce(() => import('../image/prepare.js'))
export const lookupModule = importOnce(() => import('../questions/lookup.js'))
export const instructionModule = importOnce(() => import('../questions/instruction.js'))
