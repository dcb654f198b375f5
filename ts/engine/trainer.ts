// Trainer: supervised fine-tuning of a CausalLM on (prompt, response) pairs. The whole loop runs
// in native code (native/core/train); this class tokenises, packs the examples and reports.
import type { NativeTrainOptions, NativeTrainReport } from '../native/addon.js';
import { native } from '../native/loader.js';
import { withAbortSignal } from './abort.js';
import type { CausalLM, TextPair } from './causal-lm.js';

/** What to train and how; the defaults are documented on NativeTrainOptions. The pad id comes from the model. */
export type TrainOptions = Omit<NativeTrainOptions, 'padId'>;

export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** Estimated seconds left. */
  etaSeconds: number;
}

export type TrainReport = NativeTrainReport;

export class Trainer {
  constructor(
    readonly model: CausalLM,
    readonly options: TrainOptions = {},
  ) {}

  /** Trains on `data`: loss on response tokens only. Without an adapter every weight trains. */
  async fit(data: TextPair[], hooks: { onProgress?: (p: TrainProgress) => void; signal?: AbortSignal } = {}): Promise<TrainReport> {
    if (data.length === 0) throw new RangeError('training data is empty');
    const rows = data.map((pair) => this.model.encodePair(pair));
    const offsets = new Int32Array(rows.length + 1);
    rows.forEach((r, i) => (offsets[i + 1] = offsets[i] + r.ids.length));
    const ids = Int32Array.from(rows.flatMap((r) => r.ids));
    const labels = Int32Array.from(rows.flatMap((r) => r.labels));
    if (!this.model.hasAdapter) this.model.native.setFullFinetune(true);
    const options: NativeTrainOptions = { ...this.options, padId: this.model.padId };
    let startStep: number | undefined;
    const onProgress = hooks.onProgress
      ? (step: number, steps: number, loss: number, lr: number, gradNorm: number, tokensPerSecond: number, elapsedSeconds: number) => {
          startStep ??= step - 1;
          const done = step - startStep;
          const etaSeconds = done > 0 ? (elapsedSeconds / done) * (steps - step) : Number.NaN;
          hooks.onProgress?.({ step, steps, loss, lr, gradNorm, tokensPerSecond, elapsedSeconds, etaSeconds });
        }
      : undefined;
    return withAbortSignal(hooks.signal, (token) => native().trainSft(this.model.native, ids, labels, offsets, options, token, onProgress));
  }
}
