// What a method's run reports while it works (RiC, the SFT baseline; the CLI draws it as progress
// bars), and the hooks every runAll takes.
import type { TrainProgress } from '../engine/trainer.js';
import type { EvalProgress } from '../eval/index.js';

export type MethodEvent =
  /** A step starts (skipped steps say nothing). */
  | { kind: 'step'; step: string; message: string }
  /** A training run: `name` labels it ("offline", "online 1"), `index` of `of` runs in the whole method. */
  | { kind: 'train'; name: string; index: number; of: number; progress: TrainProgress }
  | { kind: 'generate'; name: string; done: number; total: number }
  | { kind: 'score'; done: number; total: number }
  | { kind: 'evaluate'; progress: EvalProgress };

export interface MethodHooks {
  onProgress?: (event: MethodEvent) => void;
  /** Aborting stops the run at a safe point; finished steps are kept and a re-run continues. */
  signal?: AbortSignal;
}
