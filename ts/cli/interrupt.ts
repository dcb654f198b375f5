// Ctrl-C for every long command: the first SIGINT runs `onInterrupt` (stop the progress bars),
// prints `message` and aborts the work through the returned signal, so it can stop at a safe
// point (a checkpoint, a finished batch); a second SIGINT gets Node's default and quits at once.

export interface Interrupt {
  readonly signal: AbortSignal;
  /** Removes the handler; call it when the work is over. */
  dispose(): void;
  [Symbol.dispose](): void;
}

export function onInterrupt(message: string, onInterrupt: () => void = () => {}): Interrupt {
  const abort = new AbortController();
  const handler = () => {
    onInterrupt();
    process.stderr.write(`moalign: interrupted; ${message}\n`);
    abort.abort();
  };
  process.once('SIGINT', handler);
  const dispose = () => void process.off('SIGINT', handler);
  return { signal: abort.signal, dispose, [Symbol.dispose]: dispose };
}
