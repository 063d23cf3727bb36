/**
 * How detection reads pixels: through a PixelView, the whole of a decoded image or a window of it
 * read in place (offset and stride into the whole image's bytes), never a copy.
 */
import type { Rect } from '../types.js'
import type { PixelView, RawImage } from './types.js'

/** All of `image`, as detection reads pixels. */
export function viewOf(image: RawImage): PixelView {
  const { data, width, height, channels } = image
  return { bytes: data, width, height, channels, offset: 0, stride: width * channels }
}

/** The part of `image` inside `rect`, read in place; a rectangle not inside the image is refused. */
export function windowOf(image: RawImage, rect: Rect): PixelView {
  const { data, width, channels } = image
  if (!isInside(rect, image))
    throw new RangeError(
      `${rect.width}x${rect.height} at ${rect.x},${rect.y} is not inside ${width}x${image.height}`,
    )
  const stride = width * channels
  return {
    bytes: data,
    width: rect.width,
    height: rect.height,
    channels,
    offset: rect.y * stride + rect.x * channels,
    stride,
  }
}

/** The rows to walk: a view whose rows follow one another in `bytes` is walked as one long row. */
export function rowsOf(view: PixelView): { rows: number; columns: number } {
  return view.stride === view.width * view.channels
    ? { rows: 1, columns: view.width * view.height }
    : { rows: view.height, columns: view.width }
}

/** Whether `rect` lies within an image of that size (an empty rectangle at its edge included). */
export function isInside(rect: Rect, image: { width: number; height: number }): boolean {
  return (
    rect.x >= 0 &&
    rect.y >= 0 &&
    rect.width >= 0 &&
    rect.height >= 0 &&
    rect.x + rect.width <= image.width &&
    rect.y + rect.height <= image.height
  )
}
