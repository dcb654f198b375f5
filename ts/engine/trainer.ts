// Trainer: supervised fine-tuning of a CausalLM on (prompt, response) pairs. The whole loop runs
// in native code (native/core/train); this class tokenises, packs the examples and reports.
import type { NativeTrainOptions, NativeTrainReport } from '../native/addon.js';
import { native } from '../native/loader.js';
import { withAbortSignal } from './abort.js';
import type { CausalLM, TextPair } from './causal-lm.js';

/** What to train and how; the defaults are documented on NativeTrainOptions. The pad id comes from the model. */
export type TrainOptions = Omit<NativeTrainOptions, 'padId'> & {
  /**
   * An example longer than the model's context: 'error' (default) refuses the data; 'truncate'
   * cuts its prompt from the left (then, if still too long, its response from the right) and
   * emits one warning with the count.
   */
  overlong?: 'error' | 'truncate';
};

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
    const context = this.model.info.config.maxPositions;
    let cut = 0;
    const rows = data.map((pair) => {
      const row = this.model.encodePair(pair);
      if (row.ids.length <= context || this.options.overlong !== 'truncate') return row;
      cut++;
      // drop prompt tokens (labelled -100) from the left first, then response tokens from the right
      const promptLength = row.labels.findIndex((l) => l !== -100);
      const fromLeft = Math.min(row.ids.length - context, Math.max(0, promptLength - 1));
      const ids = row.ids.slice(fromLeft, fromLeft + context);
      const labels = row.labels.slice(fromLeft, fromLeft + context);
      return { ids, labels };
    });
    if (cut > 0) process.emitWarning(`${cut} of ${data.length} training examples were longer than the context of ${context} tokens and were truncated`, 'MoalignWarning');
    const offsets = new Int32Array(rows.length + 1);
    rows.forEach((r, i) => (offsets[i + 1] = offsets[i] + r.ids.length));
    const ids = Int32Array.from(rows.flatMap((r) => r.ids));
    const labels = Int32Array.from(rows.flatMap((r) => r.labels));
    if (!this.model.hasAdapter) this.model.native.setFullFinetune(true);
    const { overlong: _overlong, ...trainOptions } = this.options;
    const options: NativeTrainOptions = { ...trainOptions, padId: this.model.padId };
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
