import sharp from 'sharp'

/**
 * The image at `path` with pixel `k`'s red channel flipped: a different image to rc2, which asks
 * the same image with the same question only once per run. Tests whose inputs must each be a call
 * of their own use these copies.
 */
export async function distinctCopy(path: string, k: number): Promise<Buffer> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true })
  data[k * info.channels] = data[k * info.channels]! ^ 0x80
  return sharp(data, { raw: info }).png().toBuffer()
}
