// What a method's run reports while it works (every method; the CLI draws it as progress bars,
// ts/cli/method-command.ts), and the hooks every runAll takes.
import type { TrainProgress } from '../engine/trainer.js';
import type { EvalProgress } from '../eval/index.js';

export type MethodEvent =
  /** A step starts (skipped steps say nothing). */
  | { kind: 'step'; step: string; message: string }
  /**
   * A training run: `name` labels it ("offline", "online 1", "expert positivity"), `index` of `of`
   * runs (in the whole method, or in its `stage` when it trains in stages, as ParetoHqD does).
   *
   * With `jobs`, several runs train at once (ParetoHqD's jobs > 1) and one event stands for them
   * all: `progress` sums their steps (of `of` runs) and tokens/s, with the latest loss, and `index`
   * counts the runs finished.
   */
  | { kind: 'train'; name: string; stage?: number; index: number; of: number; jobs?: number; progress: TrainProgress }
  /**
   * A model answers prompts: `name` labels it, `done` of `total` answered, with the seconds left;
   * `index` of `of` models when the method generates with several.
   *
   * With `jobs`, several models answer at once (ParetoHqD's jobs > 1) and one event stands for them
   * all: `done` and `total` sum their answers, and `index` counts the models finished.
   */
  | { kind: 'generate'; name: string; done: number; total: number; etaSeconds: number; index?: number; of?: number; jobs?: number }
  | { kind: 'score'; done: number; total: number }
  | { kind: 'evaluate'; progress: EvalProgress };

/** The events of one kind. */
export type MethodEventOf<K extends MethodEvent['kind']> = Extract<MethodEvent, { kind: K }>;

/** The hooks of a method's runAll; a method whose events carry more fields narrows `E`. */
export interface MethodHooks<E extends MethodEvent = MethodEvent> {
  onProgress?: (event: E) => void;
  /** Aborting stops the run at a safe point; finished steps are kept and a re-run continues. */
  signal?: AbortSignal;
}

/** `say(step, message)`: reports through `hooks` that a step starts. */
export function stepReporter(hooks: MethodHooks<MethodEventOf<'step'>>): (step: string, message: string) => void {
  return (step, message) => hooks.onProgress?.({ kind: 'step', step, message });
}
