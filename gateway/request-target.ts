// HTTP/1.1 servers must accept a request target in absolute form (`POST http://host/path HTTP/1.1`,
// RFC 9112 §3.2.2). The gateway routes it by its path, as nginx does, and ignores the host it names:
// the gateway only ever relays to the deployments it serves and never forwards Host, so this form
// cannot make it reach a host a client chooses. Every other form is left as it came.

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The target in origin form: the path and query of an absolute-form target ("/" when it has none). */
export function originForm(target: string): string {
  if (target.charCodeAt(0) === 47 /* / */ || !ABSOLUTE_FORM.test(target)) return target;
  let pathStart = target.indexOf('//') + 2;
  while (pathStart < target.length && target[pathStart] !== '/' && target[pathStart] !== '?') pathStart++;
  const rest = target.slice(pathStart);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
