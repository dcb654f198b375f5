import { describe, expect, it } from 'vitest';
import { tensor, type TensorData } from '../../ts/index.js';
import { matmul, maxAbsDiff, randomArray, rng, transpose } from '../helpers/reference.js';

describe('typed arrays cross the boundary', () => {
  const cases: [string, TensorData][] = [
    ['float32', new Float32Array([1.5, -2.25, 3, 0, 1e-3, 65504])],
    ['float64', new Float64Array([Math.PI, -Math.E, 1e-300, 1e300, 0, -0.5])],
    ['int32', new Int32Array([1, -2, 2147483647, -2147483648, 0, 7])],
    ['int64', new BigInt64Array([1n, -2n, 9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n, 0n])],
  ];
  for (const [dtype, data] of cases) {
    it(`round-trips ${dtype} exactly, with shape`, () => {
      using t = tensor(data, [2, 3]);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2, 3]);
      expect(t.device).toBe('cpu');
      const out = t.toArray();
      expect(out.constructor).toBe(data.constructor);
      expect(Array.from(out as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
    });
  }

  it('copies in: later writes to the source array do not reach the tensor', () => {
    const src = new Float32Array([1, 2, 3]);
    using t = tensor(src, [3]);
    src[0] = 42;
    expect(t.toArray()[0]).toBe(1);
  });

  it('reads a typed array that is a window into a larger buffer', () => {
    const backing = new Float64Array([9, 9, 1, 2, 3, 4, 9]);
    using t = tensor(backing.subarray(2, 6), [2, 2]);
    expect(Array.from(t.toArray() as Float64Array)).toEqual([1, 2, 3, 4]);
  });

  it('copies out zero-copy: two views of one tensor share memory and outlive dispose()', () => {
    const t = tensor(new Float32Array([1, 2, 3, 4]), [4]);
    const a = t.toArray() as Float32Array;
    const b = t.toArray() as Float32Array;
    a[1] = 20;
    expect(b[1]).toBe(20); // same storage, no copy
    t.dispose();
    expect(Array.from(a)).toEqual([1, 20, 3, 4]); // the view keeps its storage alive
  });

  it('handles empty tensors and scalars', () => {
    using e = tensor(new Float32Array(0), [0, 3]);
    expect(e.shape).toEqual([0, 3]);
    expect(e.toArray().length).toBe(0);
    using s = tensor(new Float64Array([5]), []);
    expect(s.shape).toEqual([]);
    expect(Array.from(s.toArray() as Float64Array)).toEqual([5]);
  });
});

describe('bad input gets a clear error', () => {
  it('rejects a shape that does not match the data', () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(/shape \[2, 3\] needs 6 elements, the data has 5/);
  });
  it('rejects unsupported typed arrays by name', () => {
    expect(() => tensor(new Uint8Array(4) as unknown as Float32Array, [4])).toThrow(/expected Float32Array, Float64Array, Int32Array or BigInt64Array/);
  });
  it('rejects non-integer and negative dimensions', () => {
    expect(() => tensor(new Float32Array(4), [2.5, 2] as number[])).toThrow(/non-negative integers, got 2.5 at index 0/);
    expect(() => tensor(new Float32Array(4), [-2, -2])).toThrow(/non-negative integers/);
  });
  it('rejects requiresGrad on integer tensors', () => {
    expect(() => tensor(new Int32Array(2), [2], { requiresGrad: true })).toThrow(/requiresGrad needs a floating-point tensor, got int32/);
  });
  it('rejects something that is not a Tensor where a Tensor is expected', () => {
    using a = tensor(new Float32Array(4), [2, 2]);
    expect(() => a.matmul({ shape: [2, 2] } as never)).toThrow(/matmul\(other\) must be a Tensor/);
  });
});

describe('autograd against a float64 reference', () => {
  it('matmul + backward: gradients equal G B^T and A^T G', () => {
    const [n, k, m] = [5, 7, 3];
    const next = rng(12345);
    const A = randomArray(n * k, next);
    const B = randomArray(k * m, next);
    const G = randomArray(n * m, next);
    using a = tensor(new Float64Array(A), [n, k], { requiresGrad: true });
    using b = tensor(new Float64Array(B), [k, m], { requiresGrad: true });
    using g = tensor(new Float64Array(G), [n, m]);
    using c = a.matmul(b);
    using loss = c.mul(g).sum(); // L = sum(C * G)
    loss.backward();
    using da = a.grad()!;
    using db = b.grad()!;
    expect(c.shape).toEqual([n, m]);
    expect(maxAbsDiff(c.toArray() as Float64Array, matmul(A, B, n, k, m))).toBeLessThan(1e-12);
    expect(maxAbsDiff(da.toArray() as Float64Array, matmul(G, transpose(B, k, m), n, m, k))).toBeLessThan(1e-12);
    expect(maxAbsDiff(db.toArray() as Float64Array, matmul(transpose(A, n, k), G, k, n, m))).toBeLessThan(1e-12);
    expect(g.grad()).toBeNull();
  });

  it('float32 gradients match the float64 reference to float32 precision', () => {
    const [n, k, m] = [16, 32, 8];
    const next = rng(7);
    const A = randomArray(n * k, next);
    const B = randomArray(k * m, next);
    using a = tensor(new Float32Array(A), [n, k], { requiresGrad: true });
    using b = tensor(new Float32Array(B), [k, m], { requiresGrad: true });
    using s = a.matmul(b).sum();
    s.backward();
    // d sum(AB)/dA = 1 B^T: every row is B's row sums.
    const ones = new Array(n * m).fill(1);
    expect(maxAbsDiff(a.grad()!.toArray() as Float32Array, matmul(ones, transpose(Float32Array.from(B), k, m), n, m, k))).toBeLessThan(1e-5);
    expect(maxAbsDiff(b.grad()!.toArray() as Float32Array, matmul(transpose(Float32Array.from(A), n, k), ones, k, n, m))).toBeLessThan(1e-5);
  });

  it('gradients accumulate over two backward passes, as in libtorch', () => {
    using x = tensor(new Float64Array([1, 2]), [2], { requiresGrad: true });
    using w = tensor(new Float64Array([3, 4]), [2]);
    x.mul(w).sum().backward();
    x.mul(w).sum().backward();
    expect(Array.from(x.grad()!.toArray() as Float64Array)).toEqual([6, 8]);
  });

  it('backward needs a scalar that depends on a requiresGrad leaf', () => {
    using x = tensor(new Float64Array([1, 2]), [2], { requiresGrad: true });
    expect(() => x.mul(x).backward()).toThrow(/backward\(\) needs a scalar, got shape \[2\]/);
    using y = tensor(new Float64Array([1, 2]), [2]);
    expect(() => y.sum().backward()).toThrow(/does not depend on any tensor with requiresGrad/);
  });
});

describe('libtorch exceptions become JS errors', () => {
  it('keeps libtorch\'s message, without its C++ backtrace', () => {
    using a = tensor(new Float32Array(6), [2, 3]);
    using b = tensor(new Float32Array(8), [4, 2]);
    let caught: (Error & { code?: string }) | undefined;
    try {
      a.matmul(b);
    } catch (err) {
      caught = err as Error & { code?: string };
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught!.code).toBe('ERR_MOALIGN_TORCH');
    expect(caught!.message).toMatch(/mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)/);
    expect(caught!.message).not.toMatch(/Exception raised from/);
  });
});

describe('dispose', () => {
  it('is idempotent, and use after dispose is a clear error', () => {
    const t = tensor(new Float32Array([1, 2]), [2]);
    expect(t.disposed).toBe(false);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.shape).toThrow(/Tensor was disposed; it cannot be used again/);
    expect(() => t.toArray()).toThrow(expect.objectContaining({ code: 'ERR_MOALIGN_DISPOSED' }));
    using other = tensor(new Float32Array([1, 2]), [2]);
    expect(() => other.mul(t)).toThrow(/disposed/);
  });

  it('Symbol.dispose frees at the end of a using block', () => {
    let escaped: { disposed: boolean } | undefined;
    {
      using t = tensor(new Float32Array([1]), [1]);
      escaped = t;
      expect(t.disposed).toBe(false);
    }
    expect(escaped!.disposed).toBe(true);
  });

  it('the garbage collector frees tensors that were never disposed', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs this file with --expose-gc').toBeTypeOf('function');
    const mb = () => process.memoryUsage().rss / 2 ** 20;
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc!();
        await new Promise((r) => setImmediate(r));
      }
    };
    await settle();
    const before = mb();
    const big = new Float64Array(2 ** 20); // 8 MiB per tensor
    for (let i = 0; i < 80; i++) {
      tensor(big, [big.length]); // 640 MiB in all if nothing were freed
      if (i % 8 === 7) await settle();
    }
    await settle();
    expect(mb() - before).toBeLessThan(200);
  });
});
