// Reads float32 tensors from a safetensors file written by the fixture scripts (an independent
// reader: the engine's own loader is C++).
import { readFileSync } from 'node:fs';

export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
}

export function readSafetensors(file: string): Map<string, FixtureTensor> {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, FixtureTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (e.dtype !== 'F32') throw new Error(`${file}: ${name} is ${e.dtype}; this reader takes F32 only`);
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    out.set(name, { shape: e.shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) });
  }
  return out;
}
