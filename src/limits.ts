/**
 * The input limits, defined once: the config's defaults (`image.maxBytes`, `image.maxPixels`), the
 * image loader, an image fetched by URL and standard input all start from these. At the bottom of
 * the layers so that every layer that reads an input can take them.
 */

/** Largest input accepted, in bytes (a file, a URL's reply, standard input). */
export const DEFAULT_MAX_BYTES = 25 * 1024 * 1024
/** Largest decoded image accepted, in pixels (a decompression-bomb guard). */
export const DEFAULT_MAX_PIXELS = 40_000_000
