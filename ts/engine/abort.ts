// AbortSignal -> native CancelToken, for every long native call.
import type { NativeCancelToken } from '../native/addon.js';
import { native } from '../native/loader.js';

/**
 * Runs `start(token)` and cancels the native token when `signal` aborts. An already aborted
 * signal rejects at once, without starting native work; an aborted call rejects with
 * `signal.reason` (an AbortError DOMException unless the caller gave another reason).
 */
export async function withAbortSignal<T>(signal: AbortSignal | undefined, start: (token: NativeCancelToken) => Promise<T>): Promise<T> {
  if (!signal) return start(new (native().CancelToken)());
  signal.throwIfAborted();
  const token = new (native().CancelToken)();
  const onAbort = () => token.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await start(token);
  } catch (err) {
    if (signal.aborted && (err as { code?: string }).code === 'ABORT_ERR') throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
