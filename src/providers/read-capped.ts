/**
 * A response body read chunk by chunk (after decompression) and refused past `maxBytes`, each read
 * racing `aborted` so that a body dripping a byte at a time cannot outlive the deadline. Shared by
 * the service replies and the images fetched by URL; `tooLarge` makes the caller's own error.
 */
export async function readCappedBody(response: Response, maxBytes: number, aborted: Promise<never>, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? '')
  const body = response.body
  if (body === null) return Buffer.alloc(0)
  if (Number.isFinite(declared) && declared > maxBytes && response.headers.get('content-encoding') === null) {
    void body.cancel().catch(() => undefined)
    throw tooLarge()
  }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted])
      if (done) break
      total += value.byteLength
      if (total > maxBytes) throw tooLarge()
      chunks.push(value)
    }
  } catch (error) {
    void reader.cancel().catch(() => undefined)
    throw error
  }
  return Buffer.concat(chunks, total)
}
