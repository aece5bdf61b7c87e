// TGI's two kinds of errors: the router's own (JSON `{"error","error_type"}` with a status, or the
// same object as an SSE event inside a 200 stream) and the HTTP layer's (axum rejections: plain text).
// The router's messages are InferError's Display (router/src/infer/mod.rs): validation errors get
// the "Input validation error: " prefix there, tool errors "Tool error: ".

/** Label of tgi_request_failure{err=…}. */
export type FailureKind = 'validation' | 'overloaded' | 'generation' | 'incomplete' | 'dropped';

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

  /** The error event of the OpenAI streams (chat, completions): always 422, whatever the error. */
  openAiEvent(): { error: { message: string; http_status_code: number } } {
    return { error: { message: this.message, http_status_code: 422 } };
  }
}

/** InferError::ValidationError: 422, counted as tgi_request_failure{err="validation"}. */
export function validationError(message: string): TgiError {
  return new TgiError(422, 'validation', `Input validation error: ${message}`, 'validation');
}

/** InferError::Overloaded: no permit left (--max-concurrent-requests). */
export function overloadedError(): TgiError {
  return new TgiError(429, 'overloaded', 'Model is overloaded', 'overloaded');
}

/** InferError::ToolError: a 422 raised before any generation, not counted as a failure. */
export function toolError(message: string): TgiError {
  return new TgiError(422, 'tool_error', `Tool error: ${message}`);
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
