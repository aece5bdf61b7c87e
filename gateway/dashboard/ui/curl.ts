// "Copy as curl": the playground's request as a shell command, token as ${VALID_TOKEN} (never the real one).

/**
 * Stands for the image's base64 in body.inputs; the command reads the image file with base64(1)
 * instead of carrying megabytes of it. Control characters: a prompt cannot contain it by accident.
 */
export const IMAGE_PLACEHOLDER = '\u0001image\u0001';

const singleQuoted = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function curlCommand(url: string, body: unknown, stream: boolean, imageFile = 'image.png'): string {
  const placeholderInJson = JSON.stringify(IMAGE_PLACEHOLDER).slice(1, -1);
  const data = singleQuoted(JSON.stringify(body, null, 2)).split(placeholderInJson).join(`'"$(base64 -w0 ${singleQuoted(imageFile)})"'`);
  return [
    `curl ${stream ? '-N ' : ''}-X POST ${url} \\`,
    '     -H "Authorization: Bearer ${VALID_TOKEN}" \\',
    "     -H 'Content-Type: application/json' \\",
    `     -d ${data}`,
  ].join('\n');
}
