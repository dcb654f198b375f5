#!/usr/bin/env node
// The `moalign` command line. One file per command; no logic beyond parsing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../paths.js';
import { registerCompare } from './compare.js';
import { registerDemo } from './demo.js';
import { registerDoctor } from './doctor.js';
import { registerEval } from './eval.js';
import { registerGenerate } from './generate.js';
import { registerHv } from './hv.js';
import { registerLogprobs } from './logprobs.js';
import { registerPanacea } from './panacea.js';
import { registerPareto } from './pareto.js';
import { registerScore } from './score.js';
import { registerScoreData } from './score-data.js';
import { registerSoups } from './soups.js';
import { registerParetoHqd } from './paretohqd.js';
import { registerRic } from './ric.js';
import { registerSftBaseline } from './sft.js';
import { registerSelect } from './select.js';
import { registerTask } from './task.js';
import { registerTrain } from './train.js';

const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };

const program = new Command('moalign')
  .description('Offline multi-objective alignment of language models (ParetoHqD, Panacea, baselines) on libtorch')
  .version(version, '-v, --version')
  .option('--threads <n>', 'libtorch CPU threads (sets MOALIGN_NUM_THREADS; default: every core)')
  .hook('preAction', (cmd) => {
    const threads = cmd.opts<{ threads?: string }>().threads;
    if (threads !== undefined) process.env.MOALIGN_NUM_THREADS = threads;
  });
registerDemo(program);
registerDoctor(program);
registerHv(program);
registerPareto(program);
registerGenerate(program);
registerLogprobs(program);
registerScore(program);
registerScoreData(program);
registerSelect(program);
registerTrain(program);
registerTask(program);
registerParetoHqd(program);
registerRic(program);
registerSftBaseline(program);
registerSoups(program);
registerPanacea(program);
registerEval(program);
registerCompare(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`moalign: ${err.message}`);
  process.exitCode = 1;
});
