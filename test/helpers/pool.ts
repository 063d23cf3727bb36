/** Run `jobs` with at most `limit` in flight (sharp's work runs on libuv threads), results in order. */
export async function runPool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++
      results[k] = await jobs[k]!()
    }
  }
  await Promise.all(Array.from({ length: limit }, worker))
  return results
}
