import { imageSize } from 'image-size';
import { GatewayError } from './errors.ts';

// The service API sends images as `<image>BASE64</image>` inside `inputs`; TGI understands Markdown
// images. Each tag becomes `![](data:image/<format>;base64,BASE64)` once the bytes are checked: a JPEG,
// PNG or WebP (told by its magic number, not by what the client says) of at most 1024×1024 pixels.

export const MAX_IMAGE_SIDE = 1024;

export type ImageFormat = 'jpeg' | 'png' | 'webp';

const IMAGE_TAG = /<image>([\s\S]*?)<\/image>/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const WHITESPACE = /\s+/g;
const DATA_URL_PREFIX = /^data:[^,]*,/;

/** The accepted format the bytes start with, or undefined. */
export function detectFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/** True when `inputs` holds at least one <image> tag. */
export function hasImageTag(inputs: string): boolean {
  return inputs.includes('<image>');
}

/**
 * `inputs` with every <image>BASE64</image> replaced by TGI's Markdown image. Throws a 400
 * GatewayError naming the image (1-based), what was found and the limit.
 */
export function translateImages(inputs: string): string {
  let index = 0;
  return inputs.replace(IMAGE_TAG, (_tag, payload: string) => {
    index += 1;
    const base64 = payload.replace(WHITESPACE, '').replace(DATA_URL_PREFIX, '');
    return `![](data:image/${checkImage(base64, index)};base64,${base64})`;
  });
}

/** An OpenAI chat content part: text, or an image as a data: URL. */
export type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/**
 * `inputs` as OpenAI chat content parts, for engines whose vision models take images on
 * /v1/chat/completions (vLLM, SGLang): the text around the tags, in order, and each checked image as
 * an `image_url` part with a data: URL. Throws the same 400s as translateImages.
 */
export function imageContentParts(inputs: string): ContentPart[] {
  const parts: ContentPart[] = [];
  let index = 0;
  let from = 0;
  for (const match of inputs.matchAll(IMAGE_TAG)) {
    if (match.index > from) parts.push({ type: 'text', text: inputs.slice(from, match.index) });
    index += 1;
    const base64 = match[1].replace(WHITESPACE, '').replace(DATA_URL_PREFIX, '');
    parts.push({ type: 'image_url', image_url: { url: `data:image/${checkImage(base64, index)};base64,${base64}` } });
    from = match.index + match[0].length;
  }
  if (from < inputs.length) parts.push({ type: 'text', text: inputs.slice(from) });
  return parts;
}

function checkImage(base64: string, index: number): ImageFormat {
  const which = `image ${index}`;
  if (base64.length === 0) throw new GatewayError(400, `${which} is empty: put the base64 of a JPEG, PNG or WebP file between <image> and </image>`);
  if (!BASE64.test(base64)) throw new GatewayError(400, `${which} is not valid base64: encode the file with e.g. \`base64 -w0 image.jpg\``);
  const bytes = Buffer.from(base64, 'base64');
  const format = detectFormat(bytes);
  if (!format) throw new GatewayError(400, `${which} is ${describeUnsupported(bytes)}; only JPEG, PNG and WebP images are accepted`);
  let size: { width: number; height: number };
  try {
    size = imageSize(bytes);
  } catch {
    throw new GatewayError(400, `${which} looks like a ${format.toUpperCase()} file but its dimensions cannot be read (truncated or corrupt); send the whole file`);
  }
  if (size.width > MAX_IMAGE_SIDE || size.height > MAX_IMAGE_SIDE) {
    throw new GatewayError(400, `${which} is ${size.width}x${size.height} pixels (${format.toUpperCase()}); the largest accepted is ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE}: scale it down first (512x512 is recommended)`);
  }
  return format;
}

function describeUnsupported(bytes: Uint8Array): string {
  try {
    const { type } = imageSize(bytes);
    if (type) return `a ${type.toUpperCase()} image`;
  } catch {
    // not an image format image-size knows either
  }
  return 'not an image (its first bytes match no known image format)';
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}
