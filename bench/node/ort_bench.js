// Time ONNX Runtime (npm onnxruntime-node) session.run on an ONNX model
// (bench/onnx_convstack.py writes the SSD convolution stack).
// Usage: node ort_bench.js MODEL.onnx --threads N [--iterations N] [--warmup N]
// Prints one JSON line. intra_op_num_threads = N, inter_op 1, sequential
// execution; the input is a fixed pattern in [-1, 1] (conv time does not
// depend on the values).
'use strict';
const ort = require('onnxruntime-node');

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function main() {
  const model = process.argv[2];
  const threads = arg('--threads', 1);
  const iterations = arg('--iterations', 50);
  const warmup = arg('--warmup', 5);
  let t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const name = session.inputNames[0];
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  const dims = meta && meta.shape ? meta.shape.map(Number) : [1, 3, arg('--size', 300), arg('--size', 300)];
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) % 1000) / 500 - 1;
  const feeds = { [name]: new ort.Tensor('float32', data, dims) };
  t0 = process.hrtime.bigint();
  await session.run(feeds);
  const firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < iterations; i++) {
    t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2]
    : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(JSON.stringify({
    peer: 'onnxruntime-node', version: require('onnxruntime-node/package.json').version, threads, iterations,
    load_ms: +loadMs.toFixed(2), first_ms: +firstMs.toFixed(2), min_ms: +times[0].toFixed(3),
    median_ms: +median.toFixed(3), p90_ms: +times[Math.floor(0.9 * (times.length - 1))].toFixed(3),
  }));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
