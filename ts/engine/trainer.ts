// Trainer: supervised fine-tuning and preference training (DPO, Panacea's multi-objective DPO /
// SFT) of a CausalLM. The whole loop runs in native code (native/core/train); this class
// tokenises, packs the examples and reports.
import type { NativePreferenceOptions, NativePreferenceReport, NativeTokenRows, NativeTrainOptions, NativeTrainReport } from '../native/addon.js';
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

/**
 * One preference item. DPO: `chosen` is response a, `rejected` response b, and `labels[i]` is
 * o_i ∈ {-1, 0, 1}: +1 when a wins on objective i, -1 when b wins, 0 for a tie or no label. SFT:
 * `chosen` is the response and `labels[i]` its weight w_i ≥ 0 in objective i's data (0: not in it).
 * Every item has the same number m of labels, at least one of them non-zero.
 */
export interface PreferenceItem {
  prompt: string;
  chosen: string;
  rejected?: string;
  labels: number[];
}

/** How the m objective losses are formed and aggregated; defaults on NativePreferenceOptions. */
export type PreferenceOptions = Pick<
  NativePreferenceOptions,
  'dpoBeta' | 'aggregation' | 'tcheIdeal' | 'tcheSmoothing' | 'lambdaPer' | 'vertexProb' | 'fixedPreference' | 'orthRegWeight'
> & { objective: 'dpo' | 'sft' };

export type PreferenceProgress = TrainProgress & { lambda: number[]; objectiveLosses: number[] };

export type PreferenceReport = NativePreferenceReport;

export interface TrainHooks<P> {
  onProgress?: (p: P) => void;
  signal?: AbortSignal;
}

type TokenRow = { ids: number[]; labels: number[] };

/** Rows in the native CSR layout. */
function packRows(rows: TokenRow[]): NativeTokenRows {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i] + r.ids.length));
  return { ids: Int32Array.from(rows.flatMap((r) => r.ids)), labels: Int32Array.from(rows.flatMap((r) => r.labels)), offsets };
}

/** The native progress callback for `hook`: adds the ETA, and `extra` turns the numbers after the
 *  common seven into the method's own fields. */
function progressCallback<E extends object>(hook: ((p: TrainProgress & E) => void) | undefined, extra: (rest: number[]) => E) {
  if (!hook) return undefined;
  let startStep: number | undefined;
  return (step: number, steps: number, loss: number, lr: number, gradNorm: number, tokensPerSecond: number, elapsedSeconds: number, ...rest: number[]) => {
    startStep ??= step - 1;
    const done = step - startStep;
    const etaSeconds = done > 0 ? (elapsedSeconds / done) * (steps - step) : Number.NaN;
    hook({ step, steps, loss, lr, gradNorm, tokensPerSecond, elapsedSeconds, etaSeconds, ...extra(rest) });
  };
}

export class Trainer {
  constructor(
    readonly model: CausalLM,
    readonly options: TrainOptions = {},
  ) {}

  /** Trains on `data`: loss on response tokens only. Without an adapter every weight trains. */
  async fit(data: TextPair[], hooks: TrainHooks<TrainProgress> = {}): Promise<TrainReport> {
    if (data.length === 0) throw new RangeError('training data is empty');
    const rows = this.encode(data);
    const { ids, labels, offsets } = packRows(rows);
    if (!this.model.hasAdapter) this.model.native.setFullFinetune(true);
    const onProgress = progressCallback(hooks.onProgress, () => ({}));
    return withAbortSignal(hooks.signal, (token) => native().trainSft(this.model.native, ids, labels, offsets, this.nativeOptions(), token, onProgress));
  }

  /**
   * Preference training (design panacea.md §6): DPO on pairs, or SFT on responses, with m
   * objectives whose losses are aggregated under a λ drawn on the simplex each step (or fixed by
   * `fixedPreference`). On an SVD-LoRA model λ is also fed to the adapters; on a plain LoRA it
   * only weights the losses. DPO needs an adapter (the reference is the model without it); SFT
   * without one trains every weight.
   */
  async fitPreference(items: PreferenceItem[], options: PreferenceOptions, hooks: TrainHooks<PreferenceProgress> = {}): Promise<PreferenceReport> {
    if (items.length === 0) throw new RangeError('training data is empty');
    const m = items[0].labels.length;
    const labels = new Float64Array(items.length * m);
    items.forEach((item, i) => {
      if (item.labels.length !== m) throw new RangeError(`preference item ${i} has ${item.labels.length} labels, item 0 has ${m}: every item needs one per objective`);
      labels.set(item.labels, i * m);
    });
    const chosen = this.encode(items.map((it) => ({ prompt: it.prompt, response: it.chosen })));
    // Items without a rejected response get an empty row; the core refuses them under DPO.
    const anyRejected = items.some((it) => it.rejected !== undefined);
    const rejected = anyRejected
      ? this.encode(items.map((it) => ({ prompt: it.prompt, response: it.rejected ?? '' }))).map((row, i) => (items[i].rejected === undefined ? { ids: [], labels: [] } : row))
      : undefined;
    if (options.objective === 'sft' && !this.model.hasAdapter) this.model.native.setFullFinetune(true);
    const nativeOptions: NativePreferenceOptions = { ...this.nativeOptions(), ...options };
    const onProgress = progressCallback(hooks.onProgress, (rest) => ({ lambda: rest.slice(0, rest.length / 2), objectiveLosses: rest.slice(rest.length / 2) }));
    return withAbortSignal(hooks.signal, (token) =>
      native().trainPreference(this.model.native, packRows(chosen), rejected && packRows(rejected), labels, nativeOptions, token, onProgress),
    );
  }

  /** Plain DPO (Rafailov et al. 2023) on (prompt, chosen, rejected) triples: one objective, λ = (1). */
  fitDpo(
    pairs: { prompt: string; chosen: string; rejected: string }[],
    options: { beta?: number } = {},
    hooks: TrainHooks<PreferenceProgress> = {},
  ): Promise<PreferenceReport> {
    return this.fitPreference(
      pairs.map((p) => ({ ...p, labels: [1] })),
      { objective: 'dpo', dpoBeta: options.beta, fixedPreference: [1] },
      hooks,
    );
  }

  /** Token rows of the pairs; under overlong 'truncate' the rows longer than the context are cut
   *  (prompt from the left, then response from the right) with one warning for all of them. */
  private encode(pairs: TextPair[]): TokenRow[] {
    const context = this.model.info.config.maxPositions;
    let cut = 0;
    const rows = pairs.map((pair) => {
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
    if (cut > 0) process.emitWarning(`${cut} of ${pairs.length} training examples were longer than the context of ${context} tokens and were truncated`, 'MoalignWarning');
    return rows;
  }

  private nativeOptions(): NativeTrainOptions {
    const { overlong: _overlong, ...trainOptions } = this.options;
    return { ...trainOptions, padId: this.model.padId };
  }
}
