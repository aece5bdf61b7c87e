// Images inside `inputs`, the way TGI takes them for vision-language models: Markdown images
// `![](data:image/png;base64,…)`. The format and dimensions come from the bytes, not the data URL.
import { imageSize } from 'image-size';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface DecodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** Where the Markdown image sits in the input (UTF-16 offsets). */
  start: number;
  end: number;
}

/** TGI's own pattern (router/src/validation.rs). */
const MARKDOWN_IMAGE = /!\[\]\([^)]*\)/g;
const FORMATS: Record<string, ImageFormat> = { png: 'png', jpg: 'jpeg', webp: 'webp' };

export class ImageError extends Error {}

export interface InputChunk {
  kind: 'text' | 'image';
  text: string;
  /** UTF-16 offset of the chunk in the input. */
  start: number;
  image?: DecodedImage;
}

/** Splits inputs into text and decoded images. Throws ImageError for an image it cannot use. */
export function splitImages(inputs: string): InputChunk[] {
  const chunks: InputChunk[] = [];
  let cursor = 0;
  for (const match of inputs.matchAll(MARKDOWN_IMAGE)) {
    if (match.index > cursor) chunks.push({ kind: 'text', text: inputs.slice(cursor, match.index), start: cursor });
    const end = match.index + match[0].length;
    const url = match[0].slice(4, -1);
    chunks.push({ kind: 'image', text: match[0], start: match.index, image: { ...decodeImageUrl(url), start: match.index, end } });
    cursor = end;
  }
  if (cursor < inputs.length) chunks.push({ kind: 'text', text: inputs.slice(cursor), start: cursor });
  return chunks;
}

export function decodeImageUrl(url: string): Omit<DecodedImage, 'start' | 'end'> {
  if (/^https?:\/\//i.test(url)) throw new ImageError(`failed to fetch image: ${url.slice(0, 80)}: this simulator has no network; send the image inline as a data URL`);
  const data = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(url);
  if (!data || !data[2]) throw new ImageError('image content is invalid: expected a base64 data URL such as data:image/png;base64,…');
  const bytes = Buffer.from(data[3], 'base64');
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(bytes);
  } catch {
    throw new ImageError('image content is invalid: The image format could not be determined');
  }
  const format = size.type ? FORMATS[size.type] : undefined;
  if (!format) throw new ImageError(`image content is invalid: unsupported image format ${size.type ?? 'unknown'} (this model takes png, jpeg or webp)`);
  return { format, width: size.width, height: size.height };
}

/** The sentence the simulated vision model opens with, one per image. */
export function describeImage(image: Pick<DecodedImage, 'width' | 'height' | 'format'>): string {
  return `I see a ${image.width}x${image.height} ${image.format} image.`;
}
