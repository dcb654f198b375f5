// Anthropic HH dialogues split into (prompt, response), against hand-written expectations.
import { describe, expect, it } from 'vitest';
import { hhPairSamples, splitHHDialogue } from '../../ts/data/hh.js';

describe('splitHHDialogue', () => {
  it('single turn: the prompt ends with the Assistant marker, the response loses its leading space', () => {
    expect(splitHHDialogue('\n\nHuman: What is 2+2?\n\nAssistant: It is 4.')).toEqual({
      prompt: '\n\nHuman: What is 2+2?\n\nAssistant:',
      response: 'It is 4.',
    });
  });

  it('multi-turn: splits at the LAST marker and keeps the earlier turns in the prompt', () => {
    const text = '\n\nHuman: Hi\n\nAssistant: Hello! How can I help?\n\nHuman: Tell me a joke.\n\nAssistant:  \n Why did the chicken cross the road?\nTo get to the other side. ';
    expect(splitHHDialogue(text)).toEqual({
      prompt: '\n\nHuman: Hi\n\nAssistant: Hello! How can I help?\n\nHuman: Tell me a joke.\n\nAssistant:',
      // leading whitespace (spaces and newlines) goes; the inner newline and trailing space stay
      response: 'Why did the chicken cross the road?\nTo get to the other side. ',
    });
  });

  it('"Assistant:" without the blank line before it is not a marker', () => {
    expect(splitHHDialogue('\n\nHuman: say "Assistant: hi"\n\nAssistant: Assistant: hi')).toEqual({
      prompt: '\n\nHuman: say "Assistant: hi"\n\nAssistant:',
      response: 'Assistant: hi',
    });
  });

  it('no marker is an error saying so', () => {
    expect(() => splitHHDialogue('\n\nHuman: Hello?\n\nHuman: Anyone?')).toThrow('no "\\n\\nAssistant:" marker in the dialogue');
    expect(() => splitHHDialogue('Assistant: hi')).toThrow(/no "\\n\\nAssistant:" marker/);
  });

  it('an empty (or blank) last response is an error saying so', () => {
    expect(() => splitHHDialogue('\n\nHuman: Hi\n\nAssistant:')).toThrow('the response after the last "\\n\\nAssistant:" is empty');
    expect(() => splitHHDialogue('\n\nHuman: Hi\n\nAssistant: Hey\n\nHuman: ?\n\nAssistant:  \n ')).toThrow(/is empty/);
  });
});

describe('hhPairSamples', () => {
  it('gives both sides as samples sharing the pair id as group', () => {
    const pair = { chosen: '\n\nHuman: Hi\n\nAssistant: Hello, friend.', rejected: '\n\nHuman: Hi\n\nAssistant: Go away.' };
    expect(hhPairSamples(pair, 'train:17')).toEqual([
      { id: 'train:17/chosen', prompt: '\n\nHuman: Hi\n\nAssistant:', response: 'Hello, friend.', group: 'train:17', origin: 'dataset' },
      { id: 'train:17/rejected', prompt: '\n\nHuman: Hi\n\nAssistant:', response: 'Go away.', group: 'train:17', origin: 'dataset' },
    ]);
  });

  it('names the side that fails to split', () => {
    expect(() => hhPairSamples({ chosen: '\n\nHuman: Hi\n\nAssistant: Yo', rejected: '\n\nHuman: Hi\n\nAssistant: ' }, 'p')).toThrow(
      'field "rejected": the response after the last "\\n\\nAssistant:" is empty',
    );
    expect(() => hhPairSamples({ chosen: 'no marker', rejected: '\n\nHuman: Hi\n\nAssistant: Yo' }, 'p')).toThrow(/^field "chosen": no /);
  });
});
