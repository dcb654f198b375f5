// Anthropic HH-RLHF dialogues as (prompt, response) samples (design: paretohqd.md §1.2, as RiC
// prepares them). A dialogue is "\n\nHuman: …\n\nAssistant: …" repeated; the response is the last
// Assistant turn and the prompt is everything before it, ending with the marker that opens it.
import type { PreferencePairRecord, Sample } from './records.js';

/** The marker that opens an Assistant turn. It closes the prompt. */
export const HH_ASSISTANT_MARKER = '\n\nAssistant:';

/** Why a dialogue cannot be split. */
export class HHDialogueError extends Error {
  override name = 'HHDialogueError';
}

/**
 * Splits a dialogue at its LAST Assistant marker. The prompt keeps every earlier turn and ends
 * with the marker; the response is the text after it without its leading whitespace (so the
 * space after "Assistant:" belongs to neither side).
 * Throws HHDialogueError when there is no marker or nothing after the last one.
 */
export function splitHHDialogue(text: string): { prompt: string; response: string } {
  const at = text.lastIndexOf(HH_ASSISTANT_MARKER);
  if (at < 0) throw new HHDialogueError(`no ${JSON.stringify(HH_ASSISTANT_MARKER)} marker in the dialogue`);
  const end = at + HH_ASSISTANT_MARKER.length;
  const response = text.slice(end).trimStart();
  if (response === '') throw new HHDialogueError(`the response after the last ${JSON.stringify(HH_ASSISTANT_MARKER)} is empty`);
  return { prompt: text.slice(0, end), response };
}

/**
 * A preference pair as two samples, both kept (RiC trains on chosen and rejected alike): ids
 * `<pairId>/chosen` and `<pairId>/rejected`, both with `group` = pairId. Errors say which side
 * failed to split.
 */
export function hhPairSamples(pair: PreferencePairRecord, pairId: string): [Sample, Sample] {
  const side = (key: 'chosen' | 'rejected'): Sample => {
    let split: { prompt: string; response: string };
    try {
      split = splitHHDialogue(pair[key]);
    } catch (err) {
      if (err instanceof HHDialogueError) throw new HHDialogueError(`field "${key}": ${err.message}`);
      throw err;
    }
    return { id: `${pairId}/${key}`, ...split, group: pairId, origin: 'dataset' };
  };
  return [side('chosen'), side('rejected')];
}
