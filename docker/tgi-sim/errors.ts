// TGI's two kinds of errors: the router's own (JSON `{"error","error_type"}` with a status, or the
// same object as an SSE event inside a 200 stream) and the HTTP layer's (axum rejections: plain text).

/** Label of tgi_request_failure{err=…}. */
export type FailureKind = 'validation' | 'overloaded' | 'generation' | 'incomplete';

export class TgiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly failure?: FailureKind,
  ) {
    super(message);
  }

  body(): { error: string; error_type: string } {
    return { error: this.message, error_type: this.errorType };
  }
}

export function validationError(message: string): TgiError {
  return new TgiError(422, 'validation', message, 'validation');
}

export function overloadedError(): TgiError {
  return new TgiError(429, 'overloaded', 'Model is overloaded', 'overloaded');
}

/** A rejection by the HTTP layer before any handler runs; answered as plain text like axum. */
export class HttpRejection extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
