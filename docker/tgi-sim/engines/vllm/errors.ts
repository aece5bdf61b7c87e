// vLLM's error answers (vllm/entrypoints/openai/engine/protocol.py ErrorResponse/ErrorInfo, and
// engine/serving.py create_error_response / _validate_input): `{"error": {message, type, param, code}}`
// with the HTTP status in `code`; the context-length refusals are 400 BadRequestError.
import { EngineError } from '../shared/fastapi-server.ts';

export function vllmErrorBody(error: EngineError): { error: { message: string; type: string; param: string | null; code: number } } {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.status } };
}

/** The prompt alone fills the context, or max_tokens does not fit in what is left. */
export function vllmContextError(promptTokens: number, maxTokens: number | undefined, maxModelLen: number): EngineError | undefined {
  if (promptTokens >= maxModelLen) {
    return new EngineError(400, `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages.`, 'BadRequestError', 'messages');
  }
  if (maxTokens !== undefined && promptTokens + maxTokens > maxModelLen) {
    return new EngineError(
      400,
      `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${maxModelLen} tokens and your request has ${promptTokens} input tokens (${maxTokens} > ${maxModelLen} - ${promptTokens}).`,
      'BadRequestError',
      'max_tokens',
    );
  }
  return undefined;
}

export function vllmModelNotFound(model: string): EngineError {
  return new EngineError(404, `The model \`${model}\` does not exist.`, 'NotFoundError', 'model');
}

/** FastAPI's RequestValidationError for a body that is not JSON, as vLLM's handler reports it. */
export function vllmInvalidJson(_text: string, error: unknown): string {
  return `[{'type': 'json_invalid', 'loc': ('body', 0), 'msg': 'JSON decode error', 'input': {}, 'ctx': {'error': '${error instanceof Error ? error.message.replace(/'/g, '') : 'Expecting value'}'}}]`;
}
