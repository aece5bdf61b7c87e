// Images for vision deployments, prepared in the browser: at most 1024×1024 (the gateway's limit),
// in a format TGI accepts (PNG, JPEG or WebP), as base64 for `<image>BASE64</image>`.

const MAX_SIDE = 1024;
const ACCEPTED = new Set(['image/png', 'image/jpeg', 'image/webp']);

export interface PreparedImage {
  base64: string;
  width: number;
  height: number;
  /** MIME type of what is sent. */
  type: string;
  /** Whether it had to be scaled down. */
  scaled: boolean;
}

function toBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the image'));
    reader.readAsDataURL(blob);
  });
}

export async function prepareImage(file: Blob): Promise<PreparedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('this file is not an image the browser can read; use PNG, JPEG or WebP');
  }
  const { width, height } = bitmap;
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  if (scale === 1 && ACCEPTED.has(file.type)) {
    bitmap.close();
    return { base64: await toBase64(file), width, height, type: file.type, scaled: false };
  }
  const w = Math.max(1, Math.round(width * scale));
  const hgt = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = hgt;
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, w, hgt);
  bitmap.close();
  const type = ACCEPTED.has(file.type) ? file.type : 'image/png';
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, 0.9));
  if (!blob) throw new Error('the browser could not re-encode the image');
  return { base64: await toBase64(blob), width: w, height: hgt, type: blob.type, scaled: scale < 1 };
}
