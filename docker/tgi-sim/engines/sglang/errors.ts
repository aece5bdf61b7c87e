// SGLang's error answers. The OpenAI routes answer ErrorResponse
// (python/sglang/srt/entrypoints/openai/protocol.py, serving_base.py create_error_response):
// `{"object": "error", "message", "type", "param", "code"}`, 400 BadRequestError for a ValueError of
// the tokenizer manager (the context-length checks of tokenizer_manager.py _validate_one_request).
// A RequestValidationError is the same body with type "Bad Request" (http_server.py
// validation_exception_handler, which turns FastAPI's 422 into 400). The native /generate answers
// `{"error": {"message"}}` with 400 (http_server.py generate_request, _create_error_response).
import { EngineError, RequestInvalid } from '../shared/fastapi-server.ts';

export function sglangErrorBody(error: EngineError): { object: 'error'; message: string; type: string; param: string | null; code: number } {
  return { object: 'error', message: error.message, type: error instanceof RequestInvalid ? 'Bad Request' : error.type, param: null, code: error.status };
}

export function nativeErrorBody(error: EngineError): { error: { message: string } } {
  return { error: { message: error.message } };
}

export function sglangContextError(promptTokens: number, maxNewTokens: number | undefined, contextLength: number): EngineError | undefined {
  if (promptTokens >= contextLength) {
    return new EngineError(400, `The input (${promptTokens} tokens) is longer than the model's context length (${contextLength} tokens).`, 'BadRequestError');
  }
  if (maxNewTokens !== undefined && maxNewTokens + promptTokens >= contextLength) {
    return new EngineError(
      400,
      `Requested token count exceeds the model's maximum context length of ${contextLength} tokens. You requested a total of ${maxNewTokens + promptTokens} tokens: ` +
        `${promptTokens} tokens from the input messages and ${maxNewTokens} tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.`,
      'BadRequestError',
    );
  }
  return undefined;
}

export function sglangInvalidJson(_text: string, error: unknown): string {
  return `[{'type': 'json_invalid', 'loc': ('body', 0), 'msg': 'JSON decode error', 'input': {}, 'ctx': {'error': '${error instanceof Error ? error.message.replace(/'/g, '') : 'Expecting value'}'}}]`;
}
