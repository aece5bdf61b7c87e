// The page's only way to the gateway: same origin, bearer token from sessionStorage (never a URL or a cookie).

const TOKEN_KEY = 'tgi-fleet.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  save: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The gateway refused the token (401) or locked this address out (403). */
export class AuthError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

/** The message of an error body: the gateway's {"error":{"message"}} or TGI's {"error":"…"}. */
export async function errorMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: string | { message?: string } };
    const message = typeof body.error === 'string' ? body.error : body.error?.message;
    if (message) return message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 300) || `${res.status} ${res.statusText}`;
}

export function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** GET a dashboard API path (relative, e.g. "api/overview") with the given token. */
export async function getJson<T>(path: string, token: string): Promise<T> {
  const res = await fetch(path, { headers: authHeaders(token), cache: 'no-store' });
  if (res.status === 401 || res.status === 403) throw new AuthError(res.status, await errorMessage(res));
  if (!res.ok) throw new Error(`${path}: ${await errorMessage(res)}`);
  return (await res.json()) as T;
}
