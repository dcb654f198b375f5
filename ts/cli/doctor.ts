import type { Command } from 'commander';
import { doctor, formatDoctor } from '../system/doctor.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the installation: package, libtorch, native addon, threads, CUDA')
    .option('--json', 'print the report as JSON')
    .action((opts: { json?: boolean }) => {
      const report = doctor();
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
      if (!report.ok) process.exitCode = 1;
    });
}
